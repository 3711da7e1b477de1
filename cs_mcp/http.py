"""Streamable HTTP at /mcp: a bearer token where the bind is not loopback, /healthz, DNS-rebinding checks."""

from __future__ import annotations

import hmac
import socket
import sys
from collections.abc import Sequence

from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from cs_mcp.config import LOOPBACK_HOSTS, Settings
from cs_mcp.errors import ConfigError
from cs_mcp.secrets import Secret
from cs_mcp.server import CallScalerServer


class BearerTokenGate:
    """Refuses MCP requests without `Authorization: Bearer <token>`, compared in constant time."""

    def __init__(self, app: ASGIApp, token: Secret) -> None:
        self.app = app
        self.expected = f"Bearer {token.reveal()}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] != "/healthz":
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                response = JSONResponse({"error": "missing or wrong bearer token"}, status_code=401)
                await response(scope, receive, send)
                return
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


def http_app(
    server: CallScalerServer, settings: Settings, host: str, extra_hosts: Sequence[str] = ()
) -> ASGIApp:
    if host not in LOOPBACK_HOSTS and settings.http_token is None:
        raise ConfigError(
            f"binding {host} exposes the server beyond this machine: set --http-token (or CS_MCP_HTTP_TOKEN)"
        )

    @server.custom_route("/healthz", methods=["GET"])
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok", "mode": "sandbox" if settings.sandbox else "live"})

    app: ASGIApp = server.streamable_http_app(
        streamable_http_path="/mcp", transport_security=security_for(host, extra_hosts), host=host
    )
    if settings.http_token is not None:
        app = BearerTokenGate(app, settings.http_token)
    return app


def serve_http(
    server: CallScalerServer, settings: Settings, host: str, port: int, extra_hosts: Sequence[str] = ()
) -> None:
    import uvicorn

    app = http_app(server, settings, host, extra_hosts)
    print(
        f"cs-mcp: serving MCP at http://{host}:{port}/mcp ({'sandbox' if settings.sandbox else 'live'}, role {settings.role.label})",
        file=sys.stderr,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")
