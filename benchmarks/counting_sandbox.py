"""`cs-mcp sandbox`, wrapped to count the TCP connections that carry its API requests.

Each distinct client (host, port) in the ASGI scope is one connection the caller opened, so
connections vs requests shows whether the caller's connection pool holds under load.
`GET /_bench/connections` answers the counts (and the most requests in flight at once); `POST /_bench/reset` zeroes them.

    python -m benchmarks.counting_sandbox --port 8701 [--scale 1] [--fault latency=20ms]
"""

from __future__ import annotations

import argparse
import json

from starlette.types import ASGIApp, Receive, Scope, Send

from cs_mcp.sandbox import SANDBOX_BASE_PATH, Sandbox


class ConnectionCounter:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.clients: set[tuple[str, int]] = set()
        self.requests = 0
        self.in_flight = self.most_in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/_bench/"):
            if scope["path"] == "/_bench/reset":
                self.clients.clear()
                self.requests = self.most_in_flight = 0
            counts = {
                "connections": len(self.clients),
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
            self.clients.add(tuple(scope.get("client") or ("?", 0)))  # type: ignore[arg-type]
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
    uvicorn.run(ConnectionCounter(sandbox.app), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
