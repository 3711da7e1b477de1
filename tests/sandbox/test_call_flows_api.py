"""The call flow endpoints: reads, config validation, versions, conflicts, duplicate and restore."""

from __future__ import annotations

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
    ],
)
async def test_invalid_configs_are_refused_with_their_path(
    api: Api, sb: Sandbox, config: Any, where: str
) -> None:
    before = len(sb.state["call_flows"])
    error = await api.error("POST", "/call-flows", 422, json={"name": "Bad", "config_json": config})
    assert where in error["message"] and error["field"] == "config_json"
    assert len(sb.state["call_flows"]) == before


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
