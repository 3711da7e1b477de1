"""Streamable HTTP at /mcp: a bearer token where the bind is not loopback, /healthz, DNS-rebinding checks,
and limits that keep the server answering the clients allowed in.

Limits (environment variables until they become `--http-*` options; see `http_limits.HttpLimits`):
- `CS_MCP_HTTP_MAX_CONNECTIONS` (1000, capped to the open-file limit less 128): connections held at
  once. A new connection past it closes the one that has waited longest for its request; when every
  connection is busy serving, uvicorn answers 503.
- `CS_MCP_HTTP_READ_TIMEOUT` (10 s): time a connection has to deliver a whole request, headers and
  body, after it opens or after its previous response. uvicorn has no header timeout of its own.
- `CS_MCP_HTTP_MAX_SESSIONS` (200): MCP sessions per principal. A new session ends the least valuable
  of that principal's others (idle and never initialised first, then least recently used), so a new
  client always gets in. Idle sessions end after 30 minutes.
- Fixed: keep-alive 5 s, request head (line and headers) 16 KiB, request body 4 MiB (the SDK's),
  listen backlog 2048. At start the soft open-file limit is raised to the hard limit.
- `--hosted`: no token; each request's `Authorization: Bearer cs_key_...` is checked by the header-mode
  gate (cs_mcp/hosted/header.py) before anything else, then by the SDK's auth; sessions are then bounded
  per caller.
- `--http-token` must have at least 32 characters (128 bits). The token is checked before any other
  work on a request: before sessions are looked up or created and before the body is read. The scheme
  is matched in any case (`Bearer`, `bearer`), as RFC 7235 says.
"""

from __future__ import annotations

import hashlib
import hmac
import socket
import sys
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from cs_mcp.config import LOOPBACK_HOSTS, Settings
from cs_mcp.errors import ConfigError
from cs_mcp.guardrails.approval import APPROVE_PATH
from cs_mcp.hosted.auth import resource_metadata_url
from cs_mcp.hosted.header import HeaderModeGate
from cs_mcp.hosted.registration import RegistrationLimit
from cs_mcp.http_connections import guarded_protocol
from cs_mcp.http_limits import HttpLimits, raise_open_file_limit
from cs_mcp.http_sessions import PRINCIPAL_KEY, SessionBound, bearer_credentials
from cs_mcp.secrets import Secret
from cs_mcp.server import CallScalerServer
from cs_mcp.web import approval_pages
from cs_mcp.web.signing import ServerSecret

MIN_TOKEN_LENGTH = 32  # characters: 128 bits as hex
MAKE_TOKEN = 'python -c "import secrets; print(secrets.token_hex(32))"'


class BearerTokenGate:
    """Refuses MCP requests without `Authorization: Bearer <token>`, compared in constant time.

    Outermost, so nothing else runs for a request that fails it; one that passes is tagged with its
    principal (a hash of the token, never the token) for the session bound."""

    def __init__(self, app: ASGIApp, token: Secret) -> None:
        self.app = app
        self.expected = token.reveal().encode()
        self.principal = "token:" + hashlib.sha256(self.expected).hexdigest()[:16]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The approval page is a person's, in a browser that has no bearer token; it has its own checks.
        if (
            scope["type"] == "http"
            and scope["path"] != "/healthz"
            and not scope["path"].startswith(APPROVE_PATH)
        ):
            given = bearer_credentials(scope) or b""
            if not hmac.compare_digest(given, self.expected):
                response = JSONResponse(
                    {"error": "missing or wrong bearer token"},
                    status_code=401,
                    # Closing spares the server a body it will never read and a connection it won't serve.
                    headers={"WWW-Authenticate": "Bearer", "Connection": "close"},
                )
                await response(scope, receive, send)
                return
            scope = {**scope, PRINCIPAL_KEY: self.principal}
        await self.app(scope, receive, send)


WILDCARD_BINDS = frozenset({"0.0.0.0", "::"})


def allowed_hosts(host: str, extra: Sequence[str] = ()) -> list[str]:
    """The Host names requests may carry: loopback names, the bound address, this machine's names
    where the bind is beyond loopback, and the operator's `--allowed-host` names (a proxy's, say)."""
    hosts = ["127.0.0.1", "localhost", "[::1]"]
    if host not in LOOPBACK_HOSTS:
        hosts += [] if host in WILDCARD_BINDS else [host]
        hosts += [socket.gethostname(), socket.getfqdn()]
    return list(dict.fromkeys([*hosts, *extra]))


def security_for(host: str, extra: Sequence[str] = ()) -> TransportSecuritySettings:
    """DNS-rebinding protection stays on whatever the bind: only known Host names are answered."""
    hosts = allowed_hosts(host, extra)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[f"{h}:*" for h in hosts],
        allowed_origins=[f"http://{h}:*" for h in hosts] + [f"https://{h}:*" for h in hosts],
    )


def check_token(host: str, token: Secret | None) -> None:
    if token is None:
        if host not in LOOPBACK_HOSTS:
            raise ConfigError(
                f"binding {host} exposes the server beyond this machine: set --http-token (or CS_MCP_HTTP_TOKEN)"
            )
    elif len(token.reveal()) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            f"--http-token is too short: it needs at least {MIN_TOKEN_LENGTH} characters (128 bits); "
            f"make one with: {MAKE_TOKEN}"
        )


def http_app(
    server: CallScalerServer,
    settings: Settings,
    host: str,
    extra_hosts: Sequence[str] = (),
    limits: HttpLimits | None = None,
) -> ASGIApp:
    if not settings.hosted:  # hosted: every request is authenticated by its caller's own key
        check_token(host, settings.http_token)
    limits = limits or HttpLimits()
    if settings.public_url:  # the name users reach the server by, through a proxy or not
        extra_hosts = [*extra_hosts, urlsplit(settings.public_url).netloc]

    # Hosted: signed with the server secret, so the page knows the browser session the consent page set.
    approval_pages.mount(server, ServerSecret(settings.secret) if settings.secret else None)

    @server.custom_route("/healthz", methods=["GET"])
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "mode": "sandbox" if settings.sandbox else "live"})

    app: ASGIApp = server.streamable_http_app(
        streamable_http_path="/mcp",
        # Stateless: no session outlives a request, so a load balancer may send each to any replica.
        stateless_http=settings.stateless_http,
        transport_security=security_for(host, extra_hosts),
        host=host,
        session_idle_timeout=limits.session_idle_timeout,
        # A backstop only: SessionBound keeps a principal's sessions at max_sessions, and at most one
        # opening request per connection can be on its way in while it does.
        max_sessions=limits.max_sessions + limits.max_connections,
    )
    return guarded(app, server, settings, limits)


def guarded(app: ASGIApp, server: CallScalerServer, settings: Settings, limits: HttpLimits) -> ASGIApp:
    """cs_mcp's layers around the SDK's app, the first to run outermost: the token gate, the hosted
    gates, the session bound (benchmarks/cpu_per_call.py measures them around a stand-in app)."""
    app = SessionBound(app, limits.max_sessions, limits.session_idle_timeout)
    if server.key_checker is not None:
        app = HeaderModeGate(app, server.key_checker, resource_metadata_url(settings))
        app = RegistrationLimit(app, server.guardrails.store)
    if settings.http_token is not None:
        app = BearerTokenGate(app, settings.http_token)
    return app


def listening_sockets(host: str, port: int, backlog: int) -> list[socket.socket]:
    """Every address `host` names, bound and listening, so the line that says so is true when printed."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        return [_listen(family, proto, address, backlog) for family, _, proto, _, address in found]
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _listen(family: int, proto: int, address: tuple[Any, ...], backlog: int) -> socket.socket:
    # The protocol must be named (IPPROTO_TCP, as getaddrinfo gives it): asyncio only turns Nagle off
    # (TCP_NODELAY) on sockets that say they are TCP, and with it on every answer waits 40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind(address)
    sock.listen(backlog)
    return sock


def serve_http(
    server: CallScalerServer, settings: Settings, host: str, port: int, extra_hosts: Sequence[str] = ()
) -> None:
    import uvicorn

    limits = HttpLimits.from_env().within_open_files(raise_open_file_limit())
    app = http_app(server, settings, host, extra_hosts, limits)
    approval_pages.serve_at(server, settings.public_url or approval_pages.base_url(host, port))
    config = uvicorn.Config(
        app,
        log_level="warning",
        # Never shown at "warning", but uvicorn still formats each request's access line unless told.
        access_log=False,
        http=guarded_protocol(limits),
        # One above the connection cap: the guard sheds waiting connections first, so a 503 means
        # every connection is busy serving a request.
        limit_concurrency=limits.max_connections + 1,
        timeout_keep_alive=limits.keep_alive_timeout,
        h11_max_incomplete_event_size=limits.max_header_bytes,
        backlog=limits.backlog,
    )
    sockets = listening_sockets(host, port, limits.backlog)
    mode = "sandbox" if settings.sandbox else "live"
    who = (
        f"hosted at {settings.public_url}/mcp: each caller brings their own key"
        if settings.hosted
        else f"role {settings.role.label}"
    )
    print(f"cs-mcp: serving MCP at http://{host}:{port}/mcp ({mode}, {who})", file=sys.stderr, flush=True)
    uvicorn.Server(config).run(sockets=sockets)
