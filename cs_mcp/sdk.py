"""The MCP SDK internals cs_mcp relies on, all here, checked against mcp 2.3 (tests/test_sdk_pins.py).

cs_mcp builds each tool's schemas from its own pydantic models and validates arguments itself, so it
hands the SDK a ready `Tool` rather than a function for the SDK to analyse. That needs three things
the SDK documents only in its source: `Tool.from_function`'s analysis (for the resolvers of guarded
tools), `FuncMetadata` with an argument model that passes arguments through, and the tool manager's
`get_tool`, to tell a hidden tool from an unknown one. cs_mcp's own stdio transport also runs a session
on the low-level server, as `MCPServer.run_stdio_async` does on the SDK's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.shared._stream_protocols import ReadStream, WriteStream
from mcp.shared.message import SessionMessage
from pydantic import ConfigDict

CHECKED_AGAINST = "2.3"


class RawArguments(ArgModelBase):
    """Hands the client's arguments through untouched, so cs_mcp validates them with its own models."""

    model_config = ConfigDict(extra="allow")

    def model_dump_one_level(self) -> dict[str, Any]:
        return {"arguments": dict(self.model_extra or {})}


async def _plain_tool(ctx: Context, arguments: dict[str, Any] | None = None) -> Any:
    raise NotImplementedError  # only its signature is used, by the SDK's analysis below


# Every unguarded tool has the same signature, so the SDK analyses it once and each tool copies the
# result: that analysis would otherwise be a tenth of the start-up time.
_PLAIN_TEMPLATE: Tool | None = None


def plain_tool(fn: Callable[..., Any]) -> Tool:
    """A tool whose function takes `(ctx, arguments)`."""
    global _PLAIN_TEMPLATE
    if _PLAIN_TEMPLATE is None:
        _PLAIN_TEMPLATE = Tool.from_function(_plain_tool, name="template", description="template")
    return _PLAIN_TEMPLATE.model_copy(update={"fn": fn})


def analysed_tool(fn: Callable[..., Any], name: str) -> Tool:
    """A tool whose function has resolver parameters the SDK must analyse (guarded tools)."""
    return Tool.from_function(fn, name=name)


def with_schemas(
    tool: Tool, *, input_schema: dict[str, Any], output_schema: dict[str, Any], **fields: Any
) -> Tool:
    """The tool with cs_mcp's own input and output schemas, arguments passed through raw."""
    return tool.model_copy(
        update={
            **fields,
            "parameters": input_schema,
            "fn_metadata": FuncMetadata(arg_model=RawArguments, output_schema=output_schema),
        }
    )


def has_tool(server: MCPServer[Any], name: str) -> bool:
    return server._tool_manager.get_tool(name) is not None


async def serve_session(
    server: MCPServer[Any],
    read_stream: ReadStream[SessionMessage | Exception],
    write_stream: WriteStream[SessionMessage],
) -> None:
    """One client session over a transport's streams, until the client leaves."""
    lowlevel = server._lowlevel_server
    await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
