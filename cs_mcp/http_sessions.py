"""A bound on MCP sessions per principal, so a flood of sessions cannot lock out a new client.

The SDK keeps every 2025-11-25 session (about 36 KiB each) until its client ends it or it sits idle
for 30 minutes, and refuses new ones with 503 at its cap: 10,000 `initialize`-only requests locked
every new client out for half an hour. This middleware keeps at most `max_sessions` per principal,
and makes room for each new session by ending the least valuable of the principal's others:

1. idle sessions whose client never came back after `initialize` (never completed initialization),
   oldest first;
2. then idle sessions, least recently used first;
3. only then sessions with a request in flight (an open GET stream counts), least recently used first,
   so that a new client always gets in.

Principal: a hash of the bearer token where one is configured (set by the bearer gate, which runs
first); otherwise one shared principal. A server without a token only listens on loopback, where
every local client has the same address, and any header it could be told apart by is the client's
own choice: a per-header principal would let a flood mint a fresh cap per request.

It uses only the protocol, not the SDK's internals: a session is born when a response carries an
`Mcp-Session-Id`, and it is ended with `DELETE` and that header, as a client would end it (checked
against mcp 2.3.0; tests/test_http_hardening.py shows an evicted session answers 404 afterwards).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("cs_mcp.http")

SESSION_HEADER = b"mcp-session-id"
PRINCIPAL_KEY = "cs_mcp.principal"
SHARED_PRINCIPAL = "shared"


@dataclass
class Session:
    principal: str
    last_used: float
    in_flight: int = 0
    came_back: bool = False  # a request arrived with its id: the client went on past `initialize`

    def eviction_order(self) -> tuple[bool, bool, float]:
        """Sorts the session to end first first: idle before busy, abandoned before used, then LRU."""
        return (self.in_flight > 0, self.came_back, self.last_used)


class SessionBound:
    def __init__(
        self,
        app: ASGIApp,
        max_sessions: int,
        idle_timeout: float,
        # Not anyio.current_time: it looks the async library up on every call (2.6 us, once a request);
        # only differences of this clock's readings are used.
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.max_sessions = max_sessions
        self.idle_timeout = idle_timeout
        self.clock = clock
        self.sessions: dict[str, Session] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session_id = _header(scope["headers"], SESSION_HEADER)
        if session_id is None:
            await self._serve_opening(scope, receive, send)
        else:
            await self._serve_known(session_id, scope, receive, send)

    async def _serve_opening(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal: str = scope.get(PRINCIPAL_KEY, SHARED_PRINCIPAL)
        template = dict(scope)  # copied before routing adds its keys: the pattern for ending sessions

        async def register_new_session(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                session_id = _header(message.get("headers", []), SESSION_HEADER)
                if session_id is not None:
                    self.sessions[session_id] = Session(principal, self.clock())
                    await self._make_room(principal, template, keep=session_id)
            await send(message)

        await self.app(scope, receive, register_new_session)

    async def _serve_known(self, session_id: str, scope: Scope, receive: Receive, send: Send) -> None:
        session = self.sessions.get(session_id)
        if session is None:  # ended or never ours: the SDK answers for it
            await self.app(scope, receive, send)
            return
        session.came_back = True
        session.in_flight += 1
        try:
            status = await _answer_status(self.app, scope, receive, send)
        finally:
            session.in_flight -= 1
            session.last_used = self.clock()
        if status == 404 or (scope["method"] == "DELETE" and status is not None and status < 300):
            self.sessions.pop(session_id, None)

    async def _make_room(self, principal: str, template: Scope, keep: str) -> None:
        self._forget_expired()
        others = [sid for sid, s in self.sessions.items() if s.principal == principal and sid != keep]
        excess = len(others) + 1 - self.max_sessions
        if excess <= 0:
            return
        victims = sorted(others, key=lambda sid: self.sessions[sid].eviction_order())[:excess]
        for session_id in victims:
            del self.sessions[session_id]
        for session_id in victims:
            await self._end(session_id, template)

    def _forget_expired(self) -> None:
        """Drop sessions the SDK has ended by itself after `idle_timeout` without a request."""
        stale_before = self.clock() - self.idle_timeout
        for session_id in [
            sid for sid, s in self.sessions.items() if not s.in_flight and s.last_used < stale_before
        ]:
            del self.sessions[session_id]

    async def _end(self, session_id: str, template: Scope) -> None:
        """End a session as its client would: DELETE with its id, from the Host the opener used."""
        headers = [(name, value) for name, value in template["headers"] if name == b"host"]
        scope = {
            **template,
            "method": "DELETE",
            "query_string": b"",
            "headers": [*headers, (SESSION_HEADER, session_id.encode())],
        }
        requested = False

        async def receive() -> Message:
            nonlocal requested
            if requested:
                return {"type": "http.disconnect"}
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}

        async def discard(_: Message) -> None:
            pass

        status = await _answer_status(self.app, scope, receive, discard)
        if status not in (200, 404):  # 404: it had ended already
            logger.warning("could not end MCP session %s…: HTTP %s", session_id[:8], status)


def bearer_credentials(scope: Scope) -> bytes | None:
    """The credentials of the one `Authorization: Bearer ...` header, the scheme in any case (RFC 7235);
    None when there is none, or more than one."""
    values = [value for name, value in scope["headers"] if name == b"authorization"]
    if len(values) != 1:
        return None
    scheme, _, credentials = values[0].strip().partition(b" ")
    return credentials.strip(b" ") if scheme.lower() == b"bearer" else None


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    return next((value.decode("latin-1") for key, value in headers if key.lower() == name), None)


async def _answer_status(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> int | None:
    """Run `app` for one request and return the status it answered with (None if it sent none)."""
    status: int | None = None

    async def watch(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        await send(message)

    await app(scope, receive, watch)
    return status
