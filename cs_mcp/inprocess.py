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
from cs_mcp.server import build_server

# Shown the preview of a call that needs confirmation: may it go ahead?
Consent = Callable[[Preview], bool]


@asynccontextmanager
async def connect(settings: Settings, **client_options: Any) -> AsyncIterator[Client]:
    async with Client(build_server(settings), **client_options) as client:
        yield client


async def call_tool(
    settings: Settings, tool: str, arguments: dict[str, Any], *, confirm: Consent | None = None
) -> CallToolResult:
    """Call `tool` once. With `confirm`, a call that needs confirmation is put to it and, on yes, made
    again with its token in the same session: the token lives in this server's memory only."""
    async with connect(settings) as client:
        result = await client.call_tool(tool, arguments)
        token = pending_token(result)
        if token is None or confirm is None:
            return result
        assert result.structured_content is not None  # a pending token comes in structured content
        preview = Preview.model_validate(result.structured_content["preview"])
        # In a worker thread: `confirm` may wait on a person, and the server shares this event loop.
        if await anyio.to_thread.run_sync(confirm, preview):
            result = await client.call_tool(tool, {**arguments, TOKEN_ARGUMENT: token})
        return result


def pending_token(result: CallToolResult) -> str | None:
    """The confirmation token of a result that awaits confirmation; None for any other result."""
    data = result.structured_content or {}
    token = data.get("confirmation_token")
    return token if data.get("status") == "needs_confirmation" and isinstance(token, str) else None


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))
