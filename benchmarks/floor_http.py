"""A floor server over Streamable HTTP as a plain MCPServer would be served: the SDK's app at /mcp under
uvicorn (logging at warning, as cs_mcp does), on cs_mcp's listening socket (TCP_NODELAY on its connections,
as `serve --transport http` has it), with /healthz to say it is up."""

from __future__ import annotations

from mcp.server import MCPServer
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


def serve(server: MCPServer, port: int) -> None:
    import uvicorn

    from cs_mcp.http import listening_sockets

    @server.custom_route("/healthz", methods=["GET"])
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    app = server.streamable_http_app(streamable_http_path="/mcp", host="127.0.0.1")
    sockets = listening_sockets("127.0.0.1", port, 2048)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=sockets)
