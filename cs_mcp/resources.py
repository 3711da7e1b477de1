"""MCP resources: the number inventory and call-flow outlines for clients that attach resources, and
what is too large for a tool result: CSV exports (see cs_mcp/exports.py) and voicemail and call audio.

The inventory and flow resources are the same answers as list_numbers and get_call_flow (same role
filtering, same budget), read through the same runner, so they cannot drift from the tools. Every
resource is an exit: what it serves, and its errors, pass `secrets.redact` (`@redacted`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError

from cs_mcp import catalogue
from cs_mcp.client import RawResponse
from cs_mcp.errors import CallScalerError
from cs_mcp.exports import EXPORT_URI_PREFIX
from cs_mcp.runner import AppState, Runner  # at run time: the SDK resolves `ctx`'s annotation here
from cs_mcp.secrets import redacted
from cs_mcp.toolsets.calls import RECORDING_URI as CALL_RECORDING_URI
from cs_mcp.toolsets.voicemails import RECORDING_URI

INVENTORY_STATUSES = ("active", "paused", "all")


async def _tool_text(
    runner: Runner, ctx: Context[AppState, Any], tool: str, arguments: dict[str, Any]
) -> str:
    spec = catalogue.by_name()[tool]
    if reason := runner.settings.hidden_reason(spec):
        raise ResourceError(f"this resource reads {tool}, which is hidden: {reason}")
    try:
        result = await runner.run(spec, ctx, ctx.request_context.lifespan_context, arguments)
    except ToolError as exc:
        raise ResourceError(str(exc)) from None
    return "\n".join(block.text for block in result.content if block.type == "text")


async def _audio(
    runner: Runner, tool: str, what: str, record_id: str, fetch: Callable[[str], Awaitable[RawResponse]]
) -> bytes:
    """The audio of `tool` for a resource read: refused as the tool would be when the tool is hidden."""
    spec = catalogue.by_name()[tool]
    if reason := runner.settings.hidden_reason(spec):
        raise ResourceError(f"this resource is the audio of {tool}, which is hidden: {reason}")
    try:
        UUID(record_id)
        raw = await fetch(record_id)
    except ValueError:
        raise ResourceError(f"{record_id!r} is not a {what} id (a UUID)") from None
    except CallScalerError as exc:
        raise ResourceError(f"could not fetch the recording: {exc}") from None
    return raw.content


def register_resources(server: MCPServer[AppState], runner: Runner) -> None:
    @server.resource(
        "callscaler://numbers/{status}",
        name="number_inventory",
        title="Number inventory",
        description="Tracking numbers (status active, paused or all): the first 100 and a summary of all.",
        mime_type="text/plain",
    )
    @redacted
    async def number_inventory(status: str, ctx: Context[AppState, Any]) -> str:
        if status not in INVENTORY_STATUSES:
            raise ResourceError(f"unknown status {status!r}: use one of {', '.join(INVENTORY_STATUSES)}")
        arguments: dict[str, Any] = {"limit": 100} | ({} if status == "all" else {"status": status})
        return await _tool_text(runner, ctx, "list_numbers", arguments)

    @server.resource(
        "callscaler://call-flows/{call_flow_id}",
        name="call_flow_outline",
        title="Call flow outline",
        description="A call flow as a readable outline of its steps, destinations and attached numbers.",
        mime_type="text/plain",
    )
    @redacted
    async def call_flow_outline(call_flow_id: str, ctx: Context[AppState, Any]) -> str:
        return await _tool_text(runner, ctx, "get_call_flow", {"call_flow_id": call_flow_id})

    @server.resource(
        RECORDING_URI,
        name="voicemail_recording",
        title="Voicemail audio",
        description="A voicemail's recording (audio/mpeg), for audio too large to attach to a tool result.",
        mime_type="audio/mpeg",
    )
    @redacted
    async def voicemail_recording(voicemail_id: str, ctx: Context[AppState, Any]) -> bytes:
        api = ctx.request_context.lifespan_context.api
        return await _audio(
            runner, "get_voicemail_recording", "voicemail", voicemail_id, api.voicemails.recording
        )

    @server.resource(
        CALL_RECORDING_URI,
        name="call_recording",
        title="Call audio",
        description="A call's recording (audio/mpeg), for audio too large to attach to a tool result.",
        mime_type="audio/mpeg",
    )
    @redacted
    async def call_recording(call_id: str, ctx: Context[AppState, Any]) -> bytes:
        api = ctx.request_context.lifespan_context.api
        return await _audio(runner, "get_call_recording", "call", call_id, api.calls.recording)

    @server.resource(
        EXPORT_URI_PREFIX + "{name}",
        name="export",
        title="A CSV export",
        description="An export a tool linked to because it was too large to attach; kept for an hour.",
        mime_type="text/csv",
    )
    @redacted
    async def read_export(name: str, ctx: Context[AppState, Any]) -> str:
        # Kept in the state store under the caller's principal: another user cannot read it by its name.
        content = await ctx.request_context.lifespan_context.guardrails.read_export(ctx, name)
        if content is None:
            raise ResourceError(f"export {name} is gone (kept one hour); call the export tool again")
        return content
