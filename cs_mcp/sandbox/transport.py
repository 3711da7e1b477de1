"""An httpx transport that runs the sandbox app in-process: no socket, but a network's failure modes."""

from __future__ import annotations

import anyio
import httpx
from starlette.types import Message

from cs_mcp.sandbox.fault_layer import IN_PROCESS, Refused
from cs_mcp.sandbox.simulator import Sandbox


class SandboxTransport(httpx.AsyncBaseTransport):
    """`httpx.AsyncClient(transport=SandboxTransport(sb), base_url="http://sandbox.invalid/api/v1")`.

    Behaves like a connection to a server: the request's read timeout is honoured (`httpx.ReadTimeout`),
    an answer the app abandons part-way (the `drop` fault) raises `httpx.RemoteProtocolError`, and a
    connection the `refuse` fault fails raises `httpx.ConnectError` (the request was never sent).
    """

    def __init__(self, sandbox: Sandbox) -> None:
        self.app = sandbox.app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        url = request.url
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "root_path": "",
            "headers": [(key.lower(), value) for key, value in request.headers.raw],
            "client": ("127.0.0.1", 50000),
            "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
            "extensions": {IN_PROCESS: {}},
        }
        request_sent = False
        finished = anyio.Event()
        start: Message = {}
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await finished.wait()  # the client "disconnects" once the answer is complete
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    finished.set()

        timeout = request.extensions.get("timeout", {}).get("read")
        try:
            with anyio.fail_after(timeout):
                await self.app(scope, receive, send)
        except TimeoutError:
            raise httpx.ReadTimeout(
                "The sandbox did not answer within the read timeout", request=request
            ) from None
        except Refused:
            raise httpx.ConnectError("The sandbox refused the connection", request=request) from None
        if not finished.is_set():
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a complete response", request=request
            )
        return httpx.Response(
            start["status"], headers=start.get("headers", []), content=b"".join(chunks), request=request
        )
