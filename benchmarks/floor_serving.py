"""What the floor servers share: their command line (BASE_URL [--port PORT]) and how they are served,
as a plain MCPServer would be: stdio, or the SDK's Streamable HTTP app at /mcp under uvicorn (logging at
warning, as cs_mcp does) on cs_mcp's listening socket (TCP_NODELAY on its connections, as
`serve --transport http` has it), with /healthz to say it is up.

The floor scripts run as files, not modules: they import this as a sibling (`from floor_serving import ...`).
"""

from __future__ import annotations

import argparse

from mcp.server import MCPServer
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("--port", type=int, help="serve Streamable HTTP on 127.0.0.1:PORT instead of stdio")
    return parser.parse_args()


def run(server: MCPServer, port: int | None) -> None:
    if port is None:
        server.run("stdio")
        return
    import uvicorn

    from cs_mcp.http import listening_sockets

    @server.custom_route("/healthz", methods=["GET"])
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    app = server.streamable_http_app(streamable_http_path="/mcp", host="127.0.0.1")
    sockets = listening_sockets("127.0.0.1", port, 2048)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=sockets)
