"""Calling cs_mcp's tools from Python through a real MCP client, in-process (CLI `call`, demo, examples)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.client import Client
from mcp_types import CallToolResult

from cs_mcp.config import Settings
from cs_mcp.server import build_server


@asynccontextmanager
async def connect(settings: Settings, **client_options: Any) -> AsyncIterator[Client]:
    async with Client(build_server(settings), **client_options) as client:
        yield client


async def call_tool(settings: Settings, tool: str, arguments: dict[str, Any]) -> CallToolResult:
    async with connect(settings) as client:
        return await client.call_tool(tool, arguments)
