"""End to end over real transports: `cs-mcp serve --sandbox` spawned over stdio and over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import httpx2
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp_types import ElicitResult

from tests.surface import tool_count

pytestmark = pytest.mark.anyio
CLI = [sys.executable, "-m", "cs_mcp"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stdio(*argv: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "cs_mcp", *argv], env={**os.environ})


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_stdio_serves_the_manager_catalogue(mode: str) -> None:
    async with Client(stdio("serve", "--sandbox", "--role", "manager"), mode=mode) as client:  # type: ignore[arg-type]
        tools = await client.list_tools()
        assert len(tools.tools) == tool_count("manager")
        result = await client.call_tool("list_numbers", {"limit": 2, "has_calls": True})
        assert not result.is_error
        assert result.structured_content["total"] > 0 and len(result.structured_content["items"]) == 2


def http_server(*extra: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    process = subprocess.Popen(
        [*CLI, "serve", "--transport", "http", "--port", str(port), "--sandbox", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        process.kill()
        raise AssertionError(
            f"server did not start: {process.stderr.read().decode() if process.stderr else ''}"
        )
    try:
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def http_base() -> Iterator[str]:
    for base, _ in http_server("--role", "viewer"):
        yield base


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_http_serves_both_protocol_eras(http_base: str, mode: str) -> None:
    async with Client(f"{http_base}/mcp", mode=mode) as client:  # type: ignore[arg-type]
        tools = await client.list_tools()
        assert len(tools.tools) == tool_count("viewer")
        result = await client.call_tool("get_numbers_bulk_stats", {})
        assert not result.is_error and result.structured_content["total_numbers"] > 0
        refused = await client.call_tool("purchase_number", {"phone_number": "+18135550199"})
        assert refused.is_error and "needs the manager role" in refused.content[0].text


def test_healthz_answers_without_auth_or_api(http_base: str) -> None:
    answer = httpx.get(f"{http_base}/healthz", timeout=5)
    assert answer.json() == {"status": "ok", "mode": "sandbox"}


def test_dns_rebinding_protection_is_on(http_base: str) -> None:
    answer = httpx.post(
        f"{http_base}/mcp",
        headers={
            "Host": "evil.example:80",
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        },
        json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        timeout=5,
    )
    assert answer.status_code in (403, 421)


async def test_http_token_is_required_and_checked() -> None:
    for base, _ in http_server("--http-token", "s3cret-token-value-0123456789abcdef"):
        assert httpx.post(f"{base}/mcp", json={}, timeout=5).status_code == 401
        wrong = httpx.post(f"{base}/mcp", json={}, headers={"Authorization": "Bearer nope"}, timeout=5)
        assert wrong.status_code == 401
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        authorised = httpx2.AsyncClient(
            headers={"Authorization": "Bearer s3cret-token-value-0123456789abcdef"}, timeout=30
        )
        async with (
            authorised,
            Client(streamable_http_client(f"{base}/mcp", http_client=authorised)) as client,
        ):
            assert len((await client.list_tools()).tools) == tool_count("viewer")


def test_binding_beyond_loopback_needs_a_token() -> None:
    done = subprocess.run(
        [*CLI, "serve", "--transport", "http", "--host", "0.0.0.0", "--port", str(free_port()), "--sandbox"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--http-token" in done.stderr and done.stdout == ""


def test_stdio_writes_only_protocol_on_stdout() -> None:
    request = b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}\n'
    done = subprocess.run([*CLI, "serve", "--sandbox"], input=request, capture_output=True, timeout=60)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert lines and all(line.startswith(b"{") and b'"jsonrpc"' in line for line in lines)


def test_a_wide_bind_answers_known_host_names_only() -> None:
    # Bound on every interface, reached over loopback only: the Host header is what is checked.
    for base, _ in http_server(
        "--host",
        "0.0.0.0",
        "--http-token",
        "wide-token-0123456789abcdef0123456789",
        "--allowed-host",
        "calls.example.test",
    ):
        port = base.rsplit(":", 1)[1]
        headers = {
            "Authorization": "Bearer wide-token-0123456789abcdef0123456789",
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-11-25",
        }
        ping = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        }
        known = httpx.post(
            f"{base}/mcp", json=ping, headers={**headers, "Host": f"calls.example.test:{port}"}, timeout=10
        )
        assert known.status_code == 200, known.text
        unknown = httpx.post(
            f"{base}/mcp", json=ping, headers={**headers, "Host": f"evil.example:{port}"}, timeout=10
        )
        assert unknown.status_code in (403, 421)
        no_token = httpx.post(
            f"{base}/mcp", json=ping, headers={"Host": f"calls.example.test:{port}"}, timeout=10
        )
        assert no_token.status_code == 401


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_elicitation_confirms_over_real_http(mode: str) -> None:
    asked: list[str] = []

    async def accept(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"confirm": True})

    for base, _ in http_server("--role", "manager"):
        async with Client(f"{base}/mcp", mode=mode, elicitation_callback=accept) as client:  # type: ignore[arg-type]
            numbers = (
                await client.call_tool("list_numbers", {"limit": 1, "has_calls": False})
            ).structured_content
            target = numbers["items"][0]
            released = await client.call_tool("release_number", {"number_id": target["id"]})
            assert not released.is_error, released.content[0].text
            assert released.structured_content["status"] == "done"
            after = await client.call_tool("get_number", {"number": target["id"]})
            assert after.is_error and "No number matches" in after.content[0].text
    assert len(asked) == 1 and target["phone_number"] in asked[0] and "cannot be undone" in asked[0].lower()
