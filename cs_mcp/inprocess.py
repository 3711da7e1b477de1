"""Calling cs_mcp's tools from Python through a real MCP client, in-process (CLI `call`, demo, examples)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp.client import Client
from mcp_types import CallToolResult, TextContent

from cs_mcp.config import Settings
from cs_mcp.guardrails import TOKEN_ARGUMENT, Preview
from cs_mcp.server import CallScalerServer, build_server

# Shown the preview of a call that needs confirmation: may it go ahead?
Consent = Callable[[Preview], bool]


@asynccontextmanager
async def connect(settings: Settings, **client_options: Any) -> AsyncIterator[Client]:
    async with Client(build_server(settings), **client_options) as client:
        yield client


async def call_tool(settings: Settings, tool: str, arguments: dict[str, Any]) -> CallToolResult:
    async with connect(settings) as client:
        return await client.call_tool(tool, arguments)


def call_with_consent(
    settings: Settings, tool: str, arguments: dict[str, Any], consent: Consent
) -> CallToolResult:
    """Call `tool`; if it needs confirmation, put its preview to `consent` and, on yes, call again with
    the token. Blocking: the question is asked between two event loops, so Ctrl-C interrupts it (an
    asyncio loop would only cancel its task and leave the read waiting). Both calls go to one server,
    whose guardrails hold the token."""
    server = build_server(settings)
    result = anyio.run(_call_once, server, tool, arguments)
    token = pending_token(result)
    if token is None:
        return result
    assert result.structured_content is not None  # a pending token comes in structured content
    if not consent(Preview.model_validate(result.structured_content["preview"])):
        return result
    return anyio.run(_call_once, server, tool, {**arguments, TOKEN_ARGUMENT: token})


async def _call_once(server: CallScalerServer, tool: str, arguments: dict[str, Any]) -> CallToolResult:
    async with Client(server) as client:
        return await client.call_tool(tool, arguments)


def pending_token(result: CallToolResult) -> str | None:
    """The confirmation token of a result that awaits confirmation; None for any other result."""
    data = result.structured_content or {}
    token = data.get("confirmation_token")
    return token if data.get("status") == "needs_confirmation" and isinstance(token, str) else None


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))
