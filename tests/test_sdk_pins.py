"""The MCP SDK internals cs_mcp relies on (all in cs_mcp/sdk.py), checked against the installed SDK.

If the SDK moves any of them, this fails first and names the piece, instead of a tool failing at call time.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import pytest
from mcp.client import Client

from cs_mcp import sdk
from cs_mcp.config import Settings
from cs_mcp.server import build_server

pytestmark = pytest.mark.anyio


def test_the_installed_sdk_is_the_major_minor_sdk_py_was_checked_against() -> None:
    installed = ".".join(version("mcp").split(".")[:2])
    assert installed == sdk.CHECKED_AGAINST, (
        f"mcp {installed} is installed; cs_mcp/sdk.py was checked against {sdk.CHECKED_AGAINST}: "
        "re-check Tool.from_function, FuncMetadata, ArgModelBase and the tool manager, then update it"
    )


async def echo(ctx: Any, arguments: dict[str, Any] | None = None) -> Any:
    return arguments


def test_a_plain_tool_passes_arguments_through_raw() -> None:
    tool = sdk.with_schemas(
        sdk.plain_tool(echo),
        input_schema={"type": "object", "properties": {"x": {"type": "integer"}}},
        output_schema={"type": "object"},
        name="echo",
        description="echo",
    )
    assert tool.name == "echo" and tool.parameters["properties"] == {"x": {"type": "integer"}}
    # The argument model hands anything through, so cs_mcp's own models see exactly what the client sent.
    parsed = tool.fn_metadata.arg_model.model_validate({"x": "not an int", "y": 1})
    assert parsed.model_dump_one_level() == {"arguments": {"x": "not an int", "y": 1}}


async def test_the_tool_manager_lookup_tells_a_hidden_tool_from_a_listed_one() -> None:
    server = build_server(Settings.for_sandbox("viewer"))
    assert sdk.has_tool(server, "list_numbers")
    assert not sdk.has_tool(server, "purchase_number")  # a manager tool: hidden from a viewer
    async with Client(server) as client:
        refused = await client.call_tool("purchase_number", {"phone_number": "+18135550100"})
    assert refused.is_error and "needs the manager role" in refused.content[0].text


def test_the_lowlevel_server_serve_session_runs_is_where_it_was() -> None:
    """sdk.serve_session (cs_mcp's stdio transport) runs one session on the MCPServer's lowlevel server;
    the stdio subprocess tests cover it end to end, this names the piece if the SDK moves it."""
    lowlevel = build_server(Settings.for_sandbox("viewer"))._lowlevel_server
    assert callable(lowlevel.run)
    assert lowlevel.create_initialization_options().server_name
