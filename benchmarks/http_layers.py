"""CPU per request of cs_mcp's own HTTP layers (the bearer-token gate and the session bound, as
`cs_mcp.http.guarded` stacks them) around a stand-in for the SDK's app, in process: what cs_mcp adds to an
HTTP request beyond the SDK's Streamable HTTP app and the tool. Too small to see in CPU per call, whose
block-to-block noise on a shared machine is hundreds of microseconds; here it is measured directly."""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from benchmarks.harness import Row, median
from cs_mcp.config import Settings
from cs_mcp.http import guarded
from cs_mcp.http_limits import HttpLimits
from cs_mcp.http_sessions import SESSION_HEADER
from cs_mcp.secrets import Secret
from cs_mcp.server import build_server

REQUESTS = 2_000  # per block: milliseconds of CPU, well above the clock's resolution
SESSION_ID = b"0123456789abcdef0123456789abcdef"


async def stand_in(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the body and answers as the SDK does: a session id when a legacy request opens one."""
    await receive()
    headers = [(b"content-type", b"application/json")]
    if scope["method"] == "POST" and (b"mcp-protocol-version", b"2025-11-25") in scope["headers"]:
        headers.append((SESSION_HEADER, SESSION_ID))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"jsonrpc":"2.0","id":1,"result":{}}'})


def request(token: str, *extra: tuple[bytes, bytes]) -> Callable[[ASGIApp], Awaitable[None]]:
    """One POST /mcp as an SDK client sends it, with the headers a real request carries."""
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"accept", b"application/json, text/event-stream"),
        (b"content-type", b"application/json"),
        (b"content-length", b"58"),
        (b"authorization", f"Bearer {token}".encode()),
        (b"user-agent", b"python-httpx/0.28.1"),
        *extra,
    ]
    scope = {"type": "http", "method": "POST", "path": "/mcp", "headers": headers, "query_string": b""}

    async def receive() -> Message:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def discard(_: Message) -> None:
        pass

    async def send_to(app: ASGIApp) -> None:
        await app(dict(scope), receive, discard)

    return send_to


async def cpu_us_per_request(app: ASGIApp, send_to: Callable[[ASGIApp], Awaitable[None]]) -> float:
    started = time.thread_time_ns()
    for _ in range(REQUESTS):
        await send_to(app)
    return (time.thread_time_ns() - started) / REQUESTS / 1e3


async def http_layers(blocks: int, floor_call_ms: float) -> Row:
    token = secrets.token_hex(32)
    settings = Settings.for_sandbox(http_token=Secret(token))
    layered = guarded(stand_in, build_server(settings), settings, HttpLimits())
    modern = request(token, (b"mcp-protocol-version", b"2026-07-28"))
    legacy = request(token, (b"mcp-protocol-version", b"2025-11-25"))
    await legacy(layered)  # opens the session the legacy requests below are in
    in_session = request(token, (b"mcp-protocol-version", b"2025-11-25"), (SESSION_HEADER, SESSION_ID))
    added: dict[str, list[float]] = {"modern": [], "session": []}
    for _ in range(blocks):  # interleaved with the stand-in alone, so load falls on both alike
        for era, send_to in (("modern", modern), ("session", in_session)):
            alone = await cpu_us_per_request(stand_in, send_to)
            added[era].append(await cpu_us_per_request(layered, send_to) - alone)
    modern_us, session_us = median(added["modern"]), median(added["session"])
    return Row(
        "CPU per call",
        f"HTTP: cs_mcp's own layers (token gate, session bound) per request, in process around a stand-in "
        f"app ({blocks} blocks of {REQUESTS}): 2026-07-28 era / legacy request in a session",
        f"{modern_us:.1f} / {session_us:.1f} us",
        f"{floor_call_ms:.2f} ms (floor's HTTP call, a list)",
        f"{max(modern_us, session_us) / 1e3 / floor_call_ms:.2%} of it",
    )
