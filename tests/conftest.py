"""Shared fixtures. Async tests run on anyio's pytest plugin with the asyncio backend.

`connect(role, **settings)` gives a real MCP client (the SDK's `Client`, in-process) talking to a
cs_mcp server whose API client reaches the test's own sandbox, so a test can compare tool results
with `sandbox.state` and count what reached the API in `sandbox.requests`.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

import pytest
from mcp.client import Client

from cs_mcp.config import Settings
from cs_mcp.guardrails import Guardrails
from cs_mcp.server import build_server

if TYPE_CHECKING:
    from cs_mcp.sandbox import Sandbox


# Servers the tests start (in process or as subprocesses) keep guardrail state in memory unless a test
# names a store: never in the user's real data folder.
os.environ.setdefault("CS_MCP_STATE", ":memory:")


async def no_sleep(_seconds: float) -> None:
    """Stands in for the guardrails' wait before a reconciliation's second look: tests never sleep."""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sandbox() -> Sandbox:
    from cs_mcp.sandbox import Sandbox

    return Sandbox(scale=1)


@pytest.fixture(scope="session")
def big() -> Sandbox:
    """The business at scale 100 (about 4,300 numbers and 300,000 calls), built once for the whole run:
    tests that use it only read it."""
    from cs_mcp.sandbox import Sandbox

    return Sandbox(scale=100)


Connect = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture
def connect(sandbox: Sandbox) -> Connect:
    @asynccontextmanager
    async def open_client(
        role: str = "viewer", client_options: dict[str, Any] | None = None, **overrides: Any
    ) -> AsyncIterator[Client]:
        from cs_mcp.sandbox import SandboxTransport

        settings = Settings.for_sandbox(role, **overrides)
        guardrails = Guardrails(settings, sleep=no_sleep)
        server = build_server(settings, transport=SandboxTransport(sandbox), guardrails=guardrails)
        async with Client(server, **(client_options or {})) as client:
            yield client

    return open_client


async def confirmed(client: Client, tool: str, **arguments: Any) -> Any:
    """Call a guarded tool as a user who agrees when asked (token mode); its result."""
    answer = await call(client, tool, **arguments)
    if answer["status"] == "needs_confirmation":
        answer = await call(client, tool, **arguments, confirmation_token=answer["confirmation_token"])
    assert answer["status"] == "done", answer
    return answer["result"]


async def call(client: Client, tool: str, **arguments: Any) -> Any:
    """Call a tool and return its structured content, failing the test on a tool error."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content[0].text
    return result.structured_content


async def call_error(client: Client, tool: str, **arguments: Any) -> str:
    """Call a tool that must fail and return its error text."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"{tool} should have failed but returned {result.structured_content}"
    return result.content[0].text
