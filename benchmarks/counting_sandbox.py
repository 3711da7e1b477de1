"""`cs-mcp sandbox`, wrapped to count the TCP connections that carry its API requests.

Each distinct client (host, port) in the ASGI scope is one connection the caller opened; the most open
at once is counted where uvicorn opens and closes them (an idle pooled connection expires after 5 s and
is replaced, so distinct ports over a long run overstate what was ever open together).
`GET /_bench/connections` answers the counts (and the most requests in flight at once); `POST /_bench/reset` zeroes them.

    python -m benchmarks.counting_sandbox --port 8701 [--scale 1] [--fault latency=20ms]
"""

from __future__ import annotations

import argparse
import json

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from cs_mcp.sandbox import SANDBOX_BASE_PATH, Sandbox


class ConnectionCounter:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.clients: set[tuple[str, int]] = set()
        self.requests = 0
        self.in_flight = self.most_in_flight = 0
        self.open: set[tuple[str, int]] = set()  # connections that carried an API request, still open
        self.most_open = 0

    def protocol(self) -> type[H11Protocol]:
        """uvicorn's HTTP/1.1 protocol, telling this counter when a connection closes."""
        counter = self

        class Counted(H11Protocol):
            def connection_lost(self, exc: Exception | None) -> None:
                if self.client is not None:
                    counter.open.discard(tuple(self.client))  # type: ignore[arg-type]
                super().connection_lost(exc)

        return Counted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/_bench/"):
            if scope["path"] == "/_bench/reset":
                self.clients.clear()
                self.requests = self.most_in_flight = 0
                self.most_open = len(self.open)
            counts = {
                "connections": len(self.clients),
                "most_open": self.most_open,
                "requests": self.requests,
                "most_in_flight": self.most_in_flight,
            }
            body = json.dumps(counts).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        if scope["type"] == "http" and scope["path"].startswith(SANDBOX_BASE_PATH):
            client: tuple[str, int] = tuple(scope.get("client") or ("?", 0))  # type: ignore[assignment]
            self.clients.add(client)
            self.open.add(client)
            self.most_open = max(self.most_open, len(self.open))
            self.requests += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                await self.app(scope, receive, send)
            finally:
                self.in_flight -= 1
            return
        await self.app(scope, receive, send)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--fault", action="append", default=[])
    args = parser.parse_args()
    sandbox = Sandbox(scale=args.scale)
    for spec in args.fault:
        sandbox.faults.add_spec(spec)
    counter = ConnectionCounter(sandbox.app)
    uvicorn.run(counter, host="127.0.0.1", port=args.port, log_level="warning", http=counter.protocol())


if __name__ == "__main__":
    main()
