"""The call flow endpoints: reads, config validation, versions, conflicts, duplicate and restore."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cs_mcp.sandbox import Sandbox

from .conftest import Api

pytestmark = pytest.mark.anyio
UNKNOWN = "00000000-0000-4000-8000-000000000000"
SIMPLE = {
    "steps": [{"type": "greeting", "message": "Hi"}, {"type": "forward", "destination": "+18135550100"}]
}


async def test_list_and_get(reader: Api, seeded: Sandbox) -> None:
    data = await reader.data("GET", "/call-flows", role="viewer")
    flows = seeded.state["call_flows"]
    assert data["total"] == len(flows)
    counts = {f["id"]: sum(n["call_flow_id"] == f["id"] for n in seeded.state["numbers"]) for f in flows}
    for item in data["call_flows"]:
        assert set(item) == {"id", "name", "config_version", "number_count", "updated_at"}
        assert item["number_count"] == counts[item["id"]]
    flow = flows[0]
    one = await reader.data("GET", f"/call-flows/{flow['id']}", role="viewer")
    assert one["config_json"] == flow["config_json"] and one["config_version"] == flow["config_version"]
    assert "versions" not in one and one["number_count"] == counts[flow["id"]]
    numbers = await reader.data("GET", f"/call-flows/{flow['id']}/numbers")
    assert {n["id"] for n in numbers["numbers"]} == {
        n["id"] for n in seeded.state["numbers"] if n["call_flow_id"] == flow["id"]
    }
    assert numbers["total"] == counts[flow["id"]] > 0
    versions = await reader.data("GET", f"/call-flows/{flow['id']}/versions")
    assert [v["version"] for v in versions["versions"]] == list(range(flow["config_version"], 0, -1))
    assert set(versions["versions"][0]) == {"version", "created_at", "created_by"}


@pytest.mark.parametrize("suffix", ["", "/numbers", "/versions"])
async def test_unknown_flow_is_404(reader: Api, suffix: str) -> None:
    await reader.error("GET", f"/call-flows/{UNKNOWN}{suffix}", 404)
    await reader.error("GET", f"/call-flows/not-a-uuid{suffix}", 404)


async def test_create_makes_version_one(api: Api, sb: Sandbox) -> None:
    flow = await api.data("POST", "/call-flows", 201, json={"name": "Test Flow", "config_json": SIMPLE})
    assert (flow["name"], flow["config_version"], flow["number_count"], flow["config_json"]) == (
        "Test Flow",
        1,
        0,
        SIMPLE,
    )
    assert sb.state["call_flows"][-1]["id"] == flow["id"]
    versions = await api.data("GET", f"/call-flows/{flow['id']}/versions")
    assert versions["total"] == 1 and versions["versions"][0]["created_by"] == "API key (manager)"


def _step(**fields: Any) -> dict[str, Any]:
    return {"steps": [fields]}


@pytest.mark.parametrize(
    ("config", "where"),
    [
        (None, "config_json"),
        ({"steps": "greeting"}, "config_json.steps"),
        (_step(type="teleport"), "config_json.steps[0].type"),
        (_step(type="forward"), "config_json.steps[0].destination"),
        (_step(type="forward", destination="555-0100"), "config_json.steps[0].destination"),
        (_step(type="forward", destination="+18135550100", timeout_seconds="30"), "timeout_seconds"),
        (_step(type="multi_ring", destinations=["+18135550100"] * 11), "config_json.steps[0].destinations"),
        (_step(type="round_robin", destinations=["+18135550100", "bob"]), "destinations[1]"),
        (_step(type="ivr", options={"12": {"label": "x", "steps": []}}), "options.12"),
        (_step(type="ivr", options={"1": {"steps": []}}), "options.1.label"),
        (
            _step(
                type="schedule", windows=[{"days": ["mon"], "start": "18:00", "end": "08:00", "steps": []}]
            ),
            "windows[0].end",
        ),
        (
            _step(
                type="schedule", windows=[{"days": ["funday"], "start": "08:00", "end": "17:00", "steps": []}]
            ),
            "days[0]",
        ),
        (_step(type="zip_code", routes=[{"match": [], "steps": []}]), "routes[0].match"),
        (
            _step(type="tag_route", routes=[{"match": ["vip"], "steps": [{"type": "forward"}]}]),
            "routes[0].steps[0].destination",
        ),
        (_step(type="voicemail", transcribe="yes"), "transcribe"),
        ({"steps": [], "settings": {"recording": "on"}}, "settings.recording"),
        ({"steps": [], "settings": {"press1": 1}}, "settings.press1"),
        (_step(type="rtb"), "config_json.steps[0].failover_steps"),
        (_step(type="rtb", zip_retries=6, failover_steps=[]), "steps[0].zip_retries"),
        (_step(type="rtb", buyer_timeout_seconds=61, failover_steps=[]), "steps[0].buyer_timeout_seconds"),
        (_step(type="rtb", minimum_bid_cents=-1, failover_steps=[]), "steps[0].minimum_bid_cents"),
        (_step(type="rtb", minimum_bid_cents=2.5, failover_steps=[]), "steps[0].minimum_bid_cents"),
        (_step(type="rtb", failover_steps=[{"type": "forward"}]), "steps[0].failover_steps[0].destination"),
    ],
)
async def test_invalid_configs_are_refused_with_their_path(
    api: Api, sb: Sandbox, config: Any, where: str
) -> None:
    before = len(sb.state["call_flows"])
    error = await api.error("POST", "/call-flows", 422, json={"name": "Bad", "config_json": config})
    assert where in error["message"] and error["field"] == "config_json"
    assert len(sb.state["call_flows"]) == before


RTB = {
    "type": "rtb",
    "zip_prompt": "Enter your ZIP code.",
    "zip_retries": 3,
    "buyer_timeout_seconds": 12,
    "minimum_bid_cents": 1500,
    "failover_steps": [{"type": "forward", "destination": "+18135550100"}],
}


@pytest.mark.parametrize(
    "config",
    [
        {"steps": [RTB], "settings": {"recording": True, "whisper": "Bid won", "press1": True}},
        {"steps": [{"type": "rtb", "failover_steps": [{"type": "voicemail"}]}]},  # the defaults otherwise
        {"steps": [{**RTB, "zip_retries": 0, "minimum_bid_cents": 0}], "settings": {"press_1": False}},
    ],
)
async def test_rtb_steps_and_flow_settings_are_accepted(api: Api, config: dict[str, Any]) -> None:
    flow = await api.data("POST", "/call-flows", 201, json={"name": "Auction", "config_json": config})
    assert flow["config_json"] == config


async def test_the_seeded_auction_flow_uses_rtb_on_no_number(reader: Api, seeded: Sandbox) -> None:
    flow = next(f for f in seeded.state["call_flows"] if f["name"] == "Pay-Per-Call Auction")
    data = await reader.data("GET", f"/call-flows/{flow['id']}", role="viewer")
    rtb = data["config_json"]["steps"][1]
    assert (rtb["type"], rtb["zip_retries"], rtb["buyer_timeout_seconds"]) == ("rtb", 3, 12)
    assert rtb["minimum_bid_cents"] > 0 and rtb["failover_steps"][0]["type"] == "forward"
    assert data["number_count"] == 0 and data["config_version"] == 2
    assert set(data["config_json"]["settings"]) == {"recording", "whisper", "press_1"}


async def test_create_needs_a_name_and_accepts_the_deprecated_webhook(api: Api) -> None:
    error = await api.error("POST", "/call-flows", 422, json={"config_json": SIMPLE})
    assert error["field"] == "name"
    webhook = {"steps": [{"type": "webhook", "url": "https://example.com/hook"}]}
    await api.data("POST", "/call-flows", 201, json={"name": "Hooked", "config_json": webhook})


async def test_update_bumps_the_version_and_keeps_history(api: Api, sb: Sandbox) -> None:
    flow = sb.state["call_flows"][0]
    version = flow["config_version"]
    updated = await api.data(
        "PUT",
        f"/call-flows/{flow['id']}",
        json={"name": "Main v2", "config_json": SIMPLE, "config_version": version},
    )
    assert (updated["config_version"], updated["name"], updated["config_json"]) == (
        version + 1,
        "Main v2",
        SIMPLE,
    )
    renamed = await api.data("PUT", f"/call-flows/{flow['id']}", json={"name": "Main v3"})
    assert renamed["config_version"] == version + 2 and renamed["config_json"] == SIMPLE
    versions = await api.data("GET", f"/call-flows/{flow['id']}/versions")
    assert [v["version"] for v in versions["versions"][:3]] == [version + 2, version + 1, version]
    number = next(n for n in sb.state["numbers"] if n["call_flow_id"] == flow["id"])
    listed = {n["id"]: n for n in (await api.data("GET", "/numbers"))["numbers"]}
    assert listed[number["id"]]["call_flow_name"] == "Main v3"


async def test_stale_config_version_is_a_conflict(api: Api, sb: Sandbox) -> None:
    flow = sb.state["call_flows"][0]
    stale = flow["config_version"] - 1
    before = dict(flow)
    error = await api.error(
        "PUT", f"/call-flows/{flow['id']}", 409, json={"config_json": SIMPLE, "config_version": stale}
    )
    assert error["current_version"] == flow["config_version"] and str(stale) in error["message"]
    assert flow == before


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"config_json": {"steps": 1}}, 422),
        ({"colour": "red"}, 422),
        ({"name": "x", "config_version": 0}, 422),
    ],
)
async def test_update_validation(api: Api, sb: Sandbox, body: dict[str, Any], status: int) -> None:
    await api.error("PUT", f"/call-flows/{sb.state['call_flows'][0]['id']}", status, json=body)
    await api.error("PUT", f"/call-flows/{UNKNOWN}", 404, json={"name": "x"})


async def test_delete_refuses_a_flow_in_use_and_names_the_count(api: Api, sb: Sandbox) -> None:
    flow = sb.state["call_flows"][1]
    attached = [n for n in sb.state["numbers"] if n["call_flow_id"] == flow["id"]]
    assert attached
    error = await api.error("DELETE", f"/call-flows/{flow['id']}", 409)
    assert f"{len(attached)} number" in error["message"] and error["number_count"] == len(attached)
    for number in attached:
        await api.data("PATCH", f"/numbers/{number['id']}", json={"call_flow_id": None})
    for pool in sb.state["number_pools"]:
        if pool["call_flow_id"] == flow["id"]:
            error = await api.error("DELETE", f"/call-flows/{flow['id']}", 409)
            assert "number pool" in error["message"]
            pool["call_flow_id"] = None
    assert await api.data("DELETE", f"/call-flows/{flow['id']}") == {"deleted": True, "id": flow["id"]}
    assert flow["id"] not in {f["id"] for f in sb.state["call_flows"]}
    await api.error("DELETE", f"/call-flows/{flow['id']}", 404)


async def test_duplicate_copies_the_config(api: Api, sb: Sandbox) -> None:
    flow = sb.state["call_flows"][0]
    copy = await api.data("POST", f"/call-flows/{flow['id']}/duplicate", 201)
    assert copy["name"] == f"{flow['name']} (copy)" and copy["id"] != flow["id"]
    assert (
        copy["config_json"] == flow["config_json"]
        and copy["config_version"] == 1
        and copy["number_count"] == 0
    )
    await api.data("PUT", f"/call-flows/{copy['id']}", json={"config_json": SIMPLE})
    assert flow["config_json"] != SIMPLE  # the copy is independent
    await api.error("POST", f"/call-flows/{UNKNOWN}/duplicate", 404)


async def test_restore_makes_a_new_version_with_the_old_config(api: Api, sb: Sandbox) -> None:
    flow = sb.state["call_flows"][0]
    latest = flow["config_version"]
    old_config = flow["versions"][0]["config_json"]
    assert old_config != flow["config_json"]
    restored = await api.data("POST", f"/call-flows/{flow['id']}/versions/1/restore")
    assert restored["config_version"] == latest + 1 and restored["config_json"] == old_config
    assert flow["versions"][-1]["config_json"] == old_config and flow["versions"][-1]["version"] == latest + 1
    error = await api.error("POST", f"/call-flows/{flow['id']}/versions/{latest + 5}/restore", 404)
    assert str(latest + 5) in error["message"]
    await api.error("POST", f"/call-flows/{flow['id']}/versions/one/restore", 404)


# --- the alternate answer shape (the flow_shape variant)

ALTERNATE_KEYS = {"id", "name", "steps", "settings", "version", "assigned_numbers", "created_at"}


def forward_steps(tree: Any) -> list[dict[str, Any]]:
    """Every forward step in a steps tree, at any depth."""
    if isinstance(tree, list):
        return [step for item in tree for step in forward_steps(item)]
    if not isinstance(tree, dict):
        return []
    nested = [step for value in tree.values() for step in forward_steps(value)]
    return [tree, *nested] if tree.get("type") == "forward" else nested


async def test_the_alternate_shape_renames_and_regroups_one_flow(api: Api, sb: Sandbox) -> None:
    flow = sb.state["call_flows"][0]  # forwards nested in a schedule's ivr, with failovers
    documented = await api.data("GET", f"/call-flows/{flow['id']}", role="viewer")
    sb.faults.add("flow_shape", shape="alternate")
    data = await api.data("GET", f"/call-flows/{flow['id']}", role="viewer")
    assert set(data) == {"call_flow"} and set(data["call_flow"]) == ALTERNATE_KEYS
    shown = data["call_flow"]
    assert (shown["id"], shown["name"], shown["version"], shown["created_at"]) == (
        flow["id"], flow["name"], flow["config_version"], flow["created_at"],
    )  # fmt: skip
    settings = flow["config_json"]["settings"]
    assert shown["settings"] == {
        "recording": settings["recording"], "whisper": settings["whisper"], "press1": settings["press_1"],
    }  # fmt: skip
    attached = [n for n in sb.state["numbers"] if n["call_flow_id"] == flow["id"]]
    assert shown["assigned_numbers"] == [
        {"id": n["id"], "phone_number": n["phone_number"], "name": n["name"]} for n in attached
    ]
    assert len(attached) == documented["number_count"]
    forwards = forward_steps(flow["config_json"]["steps"])
    assert len(forwards) >= 5
    assert [step["number"] for step in forward_steps(shown["steps"])] == [f["destination"] for f in forwards]
    renamed = json.dumps(flow["config_json"]["steps"]).replace('"destination":', '"number":')
    assert json.dumps(shown["steps"]) == renamed  # nothing else changed (multi_ring keeps "destinations")
    assert "destination" in json.dumps(flow["config_json"])  # the stored config is untouched


async def test_settings_a_flow_does_not_set_are_null(api: Api, sb: Sandbox) -> None:
    flow = next(f for f in sb.state["call_flows"] if "settings" not in f["config_json"])
    sb.faults.add_spec("flow_shape=alternate")
    shown = (await api.data("GET", f"/call-flows/{flow['id']}"))["call_flow"]
    assert shown["settings"] == {"recording": None, "whisper": None, "press1": None}


async def test_writes_answer_the_alternate_shape_and_take_the_documented_body(api: Api, sb: Sandbox) -> None:
    sb.faults.add_spec("flow_shape=alternate")
    created = await api.data("POST", "/call-flows", 201, json={"name": "Alt", "config_json": SIMPLE})
    flow = created["call_flow"]
    assert set(flow) == ALTERNATE_KEYS and flow["steps"][1] == {"type": "forward", "number": "+18135550100"}
    assert (flow["version"], flow["assigned_numbers"], flow["settings"]["recording"]) == (1, [], None)
    assert sb.state["call_flows"][-1]["config_json"] == SIMPLE
    updated = await api.data("PUT", f"/call-flows/{flow['id']}", json={"name": "Alt 2", "config_version": 1})
    assert (updated["call_flow"]["name"], updated["call_flow"]["version"]) == ("Alt 2", 2)
    copied = await api.data("POST", f"/call-flows/{flow['id']}/duplicate", 201)
    restored = await api.data("POST", f"/call-flows/{flow['id']}/versions/1/restore")
    assert copied["call_flow"]["steps"] == restored["call_flow"]["steps"] == flow["steps"]


async def test_lists_keep_their_shape_and_clearing_the_variant_restores_the_documented_one(
    api: Api, sb: Sandbox
) -> None:
    flow = sb.state["call_flows"][1]
    before = {
        path: await api.data("GET", path) for path in ("/call-flows", f"/call-flows/{flow['id']}/numbers")
    }
    sb.faults.add_spec("flow_shape=alternate")
    for path, answer in before.items():
        assert await api.data("GET", path) == answer
    assert "call_flow" in await api.data("GET", f"/call-flows/{flow['id']}")
    sb.faults.clear()
    assert "config_json" in await api.data("GET", f"/call-flows/{flow['id']}")
