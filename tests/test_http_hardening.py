"""The HTTP server stays up for the clients allowed in: each test attacks a real `cs-mcp serve --transport http`.

Slow clients (half-open requests), session floods, bearer parsing, weak tokens. No sleeps: every wait
is a blocking call with a generous bound, and each attack is a bounded loop.
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import anyio
import httpx
import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from starlette.types import Message, Receive, Scope, Send

from cs_mcp.errors import ConfigError
from cs_mcp.http import check_token
from cs_mcp.http_limits import FD_RESERVE, HttpLimits
from cs_mcp.http_sessions import SESSION_HEADER, SessionBound
from cs_mcp.secrets import Secret
from tests.test_transports import CLI, free_port

pytestmark = pytest.mark.anyio
TOKEN = secrets.token_hex(32)
AUTHORISED = {"Authorization": f"Bearer {TOKEN}"}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
HELLO = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "flood", "version": "1"}}
INITIALIZE = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": HELLO})
PING = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "ping"})
needs_prlimit = pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs util-linux prlimit")
# Bounds on blocking waits: generous for a loaded two-core machine, never asserted as timings.
PATIENCE = 60


@contextmanager
def served(
    *extra: str, env: dict[str, str] | None = None, open_files: str | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real `cs-mcp serve --transport http --sandbox`, yielded once it listens; `open_files` is
    prlimit's "soft:hard"."""
    port = free_port()
    limit = ["prlimit", f"--nofile={open_files}", "--"] if open_files else []
    process = subprocess.Popen(
        [*limit, *CLI, "serve", "--transport", "http", "--sandbox", "--port", str(port), *extra],
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    lines: list[str] = []
    listening = threading.Event()

    def read_stderr() -> None:  # drained all along, so a chatty server never blocks on a full pipe
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line.decode(errors="replace"))
            if b"serving MCP at" in line:
                listening.set()
        listening.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        # The line is printed once the socket listens: connections made from now on are queued.
        assert listening.wait(PATIENCE) and process.poll() is None, "".join(lines)
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.terminate()
        process.wait(timeout=PATIENCE)
        reader.join(timeout=PATIENCE)


def initialize(base: str, client: httpx.Client | None = None, **headers: str) -> httpx.Response:
    post = client.post if client else httpx.post
    return post(f"{base}/mcp", content=INITIALIZE, headers={**MCP_HEADERS, **headers}, timeout=PATIENCE)


def half_open(base: str, head: bytes) -> socket.socket:
    """A connection that sends the start of a request and never finishes it."""
    port = int(base.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
    sock.sendall(head % {b"port": str(port).encode()})
    return sock


def closed_by_server(sock: socket.socket) -> bool:
    """Reads until the server closes the connection (True) or PATIENCE runs out (False)."""
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    return True


PARTIAL_HEAD = b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%(port)s\r\n"


@contextmanager
def open_files_at_least(count: int) -> Iterator[None]:
    """This test process needs a descriptor per attacking socket."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= count:
        yield
        return
    if hard != resource.RLIM_INFINITY and hard < count:
        pytest.skip(f"needs {count} open files; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (count, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# --- slow clients ---------------------------------------------------------------------------------


@needs_prlimit
def test_half_open_flood_does_not_lock_out_an_authorised_client() -> None:
    """1,100 unauthenticated half-open requests against a token server limited to 1,024 open files.

    The read deadline is set far out, so only connection shedding can let the real client in."""
    env = {"CS_MCP_HTTP_READ_TIMEOUT": "600"}
    with (
        open_files_at_least(1_300),
        served("--http-token", TOKEN, env=env, open_files="1024:1024") as (base, _),
        ExitStack() as attackers,
    ):
        for _ in range(1_100):
            attackers.enter_context(half_open(base, PARTIAL_HEAD))
        answer = initialize(base, **AUTHORISED)
        assert answer.status_code == 200, answer.text
        assert answer.headers.get("mcp-session-id")


def test_idle_half_open_requests_are_closed_at_the_read_deadline() -> None:
    with served(env={"CS_MCP_HTTP_READ_TIMEOUT": "0.5"}) as (base, _):
        with half_open(base, PARTIAL_HEAD) as headers_unfinished:
            assert closed_by_server(headers_unfinished)
        with half_open(base, b"") as nothing_sent:
            assert closed_by_server(nothing_sent)
        # Headers complete, body promised and never sent: the SDK would wait for it for ever.
        body_unfinished = (
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%(port)s\r\nContent-Type: application/json\r\n"
            b"Accept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n{"
        )
        with half_open(base, body_unfinished) as stalled:
            assert closed_by_server(stalled)
        assert initialize(base).status_code == 200


def test_a_connection_served_before_still_has_a_deadline_for_its_next_request() -> None:
    """The deadline timer is set once per connection and re-armed when it fires: a client that is
    answered promptly and then stalls in its next request on the same connection is still closed."""
    healthz = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:%(port)s\r\n\r\n"
    with served(env={"CS_MCP_HTTP_READ_TIMEOUT": "0.5"}) as (base, _), half_open(base, healthz) as sock:
        answer = b""
        while not answer.endswith(b"}"):  # the whole JSON body: the connection is idle again
            answer += sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200")
        sock.sendall(PARTIAL_HEAD % {b"port": base.rsplit(":", 1)[1].encode()})
        assert closed_by_server(sock)


@needs_prlimit
def test_open_file_limit_is_raised_to_the_hard_limit() -> None:
    with served(open_files="1024:4096") as (_, process):
        limits = Path(f"/proc/{process.pid}/limits").read_text()
    open_files = next(line for line in limits.splitlines() if line.startswith("Max open files"))
    assert open_files.split()[3:5] == ["4096", "4096"], open_files


# --- the bearer gate ------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_bearer_scheme_is_case_insensitive(http_token_base: str, scheme: str) -> None:
    assert initialize(http_token_base, Authorization=f"{scheme} {TOKEN}").status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [None, f"Basic {TOKEN}", f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", "Bearer", TOKEN],
    ids=["none", "basic", "truncated", "extended", "scheme-only", "token-only"],  # the token is random
)
def test_wrong_credentials_are_refused(http_token_base: str, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    answer = initialize(http_token_base, **headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert "mcp-session-id" not in answer.headers and TOKEN not in answer.text


def test_refused_request_is_answered_before_its_body_and_closed(http_token_base: str) -> None:
    """No token, a 4 MB body promised and never sent: refused at once, connection closed, no session."""
    head = (
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%(port)s\r\nContent-Type: application/json\r\n"
        b"Accept: application/json, text/event-stream\r\nContent-Length: 4000000\r\n\r\n{"
    )
    with half_open(http_token_base, head) as sock:
        answer = b""
        try:
            while chunk := sock.recv(4096):
                answer += chunk
        except TimeoutError:
            pytest.fail(f"the connection was kept open after: {answer!r}")
    assert answer.startswith(b"HTTP/1.1 401") and b"mcp-session-id" not in answer.lower()


@pytest.fixture(scope="module")
def http_token_base() -> Iterator[str]:
    with served("--http-token", TOKEN) as (base, _):
        yield base


@pytest.mark.parametrize("token", ["Zq", "s3cret-token-value", "0123456789abcdef0123456789abcde"])
def test_short_tokens_are_refused_with_how_to_make_one(token: str) -> None:
    with pytest.raises(ConfigError) as refused:
        check_token("127.0.0.1", Secret(token))
    message = str(refused.value)
    assert "secrets.token_hex(32)" in message and "32 characters" in message
    assert token not in message


def test_a_128_bit_token_is_accepted() -> None:
    check_token("0.0.0.0", Secret(TOKEN[:32]))


# --- session floods -------------------------------------------------------------------------------


async def test_session_flood_leaves_room_for_old_and_new_clients() -> None:
    """1,000 initialize-only sessions against a bound of 100: the earliest are ended (404 at the SDK),
    a client connected before the flood keeps working, and a new client connects and calls a tool."""
    with served("--http-token", TOKEN, env={"CS_MCP_HTTP_MAX_SESSIONS": "100"}) as (base, _):
        async with authorised_client(base) as before_flood:
            assert not (await before_flood.call_tool("list_numbers", {"limit": 1})).is_error
            with httpx.Client(timeout=PATIENCE) as flood:
                opened = [initialize(base, flood, **AUTHORISED) for _ in range(1_000)]
                assert {answer.status_code for answer in opened} == {200}
                first, last = (opened[i].headers["mcp-session-id"] for i in (0, -1))
                assert ping(flood, base, first).status_code == 404
                assert ping(flood, base, last).status_code == 200
            assert not (await before_flood.call_tool("list_numbers", {"limit": 1})).is_error
        async with authorised_client(base) as after_flood:
            result = await after_flood.call_tool("list_numbers", {"limit": 1})
            assert not result.is_error and result.structured_content["total"] > 0


def ping(client: httpx.Client, base: str, session_id: str) -> httpx.Response:
    headers = {
        **MCP_HEADERS,
        **AUTHORISED,
        "Mcp-Session-Id": session_id,
        "Mcp-Protocol-Version": "2025-11-25",
    }
    return client.post(f"{base}/mcp", content=PING, headers=headers)


def authorised_client(base: str) -> Client:
    http = httpx2.AsyncClient(headers=AUTHORISED, timeout=PATIENCE)
    return Client(streamable_http_client(f"{base}/mcp", http_client=http), mode="legacy")


class FakeSessions:
    """An inner app that speaks just enough of the session protocol: opens, serves, ends on DELETE."""

    def __init__(self) -> None:
        self.opened = 0
        self.ended: list[str] = []
        self.release = anyio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session_id = dict(scope["headers"]).get(SESSION_HEADER, b"").decode()
        headers = []
        if scope["method"] == "DELETE":
            self.ended.append(session_id)
        elif scope["method"] == "GET":  # a stream the client keeps open
            await self.release.wait()
        elif not session_id:
            self.opened += 1
            headers = [(SESSION_HEADER, f"s{self.opened}".encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


async def request(app: SessionBound, method: str, session_id: str | None = None) -> None:
    headers = [(b"host", b"127.0.0.1:1")] + ([(SESSION_HEADER, session_id.encode())] if session_id else [])
    scope = {"type": "http", "method": method, "path": "/mcp", "headers": headers, "query_string": b""}

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def discard(_: Message) -> None:
        pass

    await app(scope, receive, discard)


async def test_eviction_order_abandoned_then_least_recently_used_then_busy() -> None:
    inner = FakeSessions()
    ticks = iter(range(1_000))
    bound = SessionBound(inner, max_sessions=3, idle_timeout=10_000, clock=lambda: next(ticks))
    async with anyio.create_task_group() as streams:
        for _ in range(3):
            await request(bound, "POST")  # s1, s2, s3
        await request(bound, "POST", "s2")  # s2 went on past initialize
        streams.start_soon(request, bound, "GET", "s3")  # s3 holds a stream open
        await anyio.wait_all_tasks_blocked()
        await request(bound, "POST")  # s4: ends s1, abandoned and oldest
        await request(bound, "POST")  # s5: ends s4, abandoned, before the older but used s2
        assert inner.ended == ["s1", "s4"]
        await request(bound, "POST", "s5")
        await request(bound, "POST")  # s6: s2 and s5 both used and idle; s2 was used longest ago
        assert inner.ended == ["s1", "s4", "s2"]
        bound.max_sessions = 1
        await request(bound, "POST")  # s7: only busy s3 and idle s5, s6 are left; all go, busy last
        assert inner.ended == ["s1", "s4", "s2", "s6", "s5", "s3"]
        inner.release.set()
    assert set(bound.sessions) == {"s7"}


# --- limits ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CS_MCP_HTTP_MAX_SESSIONS", "0"),
        ("CS_MCP_HTTP_MAX_CONNECTIONS", "many"),
        ("CS_MCP_HTTP_MAX_CONNECTIONS", "2"),
        ("CS_MCP_HTTP_READ_TIMEOUT", "0"),
        ("CS_MCP_HTTP_READ_TIMEOUT", "nan"),
        ("CS_MCP_HTTP_READ_TIMEOUT", "inf"),
    ],
)
def test_bad_limits_stop_the_start_with_their_name(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        HttpLimits.from_env({name: value})


def test_connections_are_capped_to_the_open_file_limit() -> None:
    limits = HttpLimits.from_env({"CS_MCP_HTTP_MAX_CONNECTIONS": "5000", "CS_MCP_HTTP_READ_TIMEOUT": "2.5"})
    assert (limits.max_connections, limits.read_timeout) == (5000, 2.5)
    assert limits.within_open_files(1024).max_connections == 1024 - FD_RESERVE
    assert limits.within_open_files(100_000) is limits
