"""The ASGI layer in front of the API that logs each request and applies the fault chosen for it.

It wraps the whole app, as the network and proxies sit in front of a real API: a fault that strikes
"before" answers in the API's place (the API never sees the request); one that strikes "after" lets
the API act and commit its change, then spoils the answer the client gets. Variants are passed on to
the app in the request's scope, for it to answer in that form.
"""

from __future__ import annotations

import json
from http import HTTPStatus

import anyio
from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cs_mcp.sandbox.auth import role_of
from cs_mcp.sandbox.faults import VARIANTS_SCOPE_KEY, Fault, FaultInjector
from cs_mcp.sandbox.formats import BASE_PATH
from cs_mcp.sandbox.validation import ApiError

# A scope extension an in-process carrier sets to say it can fail the connection itself (see Refused).
IN_PROCESS = "cs_mcp.sandbox.in_process"
BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


class Refused(Exception):
    """Raised to an in-process carrier by the `refuse` fault: fail as a connection that never opened."""


class FaultLayer:
    """Logs every API request, then applies the faults that match it (see `faults.PHASES`)."""

    def __init__(self, app: ASGIApp, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(BASE_PATH + "/"):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"][len(BASE_PATH) :]
        plan = self.injector.plan(method, path)
        await anyio.sleep(plan.delay)
        fault = plan.fault
        if fault is not None and fault.kind == "refuse":  # never sent, so never received or logged
            await _refuse(scope, send)
            return
        self.injector.requests.record(method, path, role_of(Headers(scope=scope)))
        scope = {**scope, VARIANTS_SCOPE_KEY: plan.variants}
        if fault is None:
            await self.app(scope, receive, send)
        elif fault.when == "before":
            await self._before(fault, scope, receive, send)
        else:
            await self._after(fault, scope, receive, send)

    async def _before(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer in the API's place, or (timeout) hold the request before the API sees it."""
        if fault.kind != "timeout":
            await canned_response(fault)(scope, receive, send)
            return
        held = await _hold(fault.seconds, receive)
        if held is not None:  # the client waited: the API answers late
            await self.app(scope, held, send)

    async def _after(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        """Let the API act (its change is committed), then spoil the answer."""
        start, body = await _capture(self.app, scope, receive)
        if fault.kind == "timeout":  # the answer comes only after the client should have given up
            await anyio.sleep(fault.seconds)
            await send(start)
            await send({"type": "http.response.body", "body": body})
        elif fault.kind == "drop":  # headers promise the whole body; half arrives, then the connection closes
            await send(start)
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        elif fault.kind == "malformed":
            await Response(body[: len(body) // 2] or b"{", 200, media_type="application/json")(
                scope, receive, send
            )
        elif fault.kind == "no_envelope":
            await _unwrapped(start, body)(scope, receive, send)
        else:
            await canned_response(fault)(scope, receive, send)


async def _refuse(scope: Scope, send: Send) -> None:
    """Fail as a connection that was never made; the API does not act."""
    if IN_PROCESS in scope.get("extensions", {}):
        raise Refused
    # Over a socket the connection is already open when the method and path are known. ASGI cannot
    # close it unanswered, so: a 503 status line promising a body, then the hang-up (uvicorn closes
    # an incomplete response); the client sees the connection closed and no answer to read.
    await send({"type": "http.response.start", "status": 503, "headers": [(b"content-length", b"1")]})


async def _hold(seconds: float, receive: Receive) -> Receive | None:
    """Keep a request from the API for `seconds`; None if the client hung up meanwhile.

    The body is read first, so that while waiting `receive` can only report a disconnect; the
    returned `receive` replays the body to the API.
    """
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    with anyio.move_on_after(seconds):
        while (await receive())["type"] != "http.disconnect":
            pass
        return None
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

    return replay


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[Message, bytes]:
    """Run the app to the end; its response start message and whole body."""
    start: Message = {}
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        else:
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    return start, b"".join(chunks)


def _unwrapped(start: Message, body: bytes) -> Response:
    """The same answer without its {"data": ...} wrapper (errors and non-JSON answers unchanged)."""
    content_type = Headers(raw=start["headers"]).get("content-type", "")
    document = json.loads(body) if content_type.startswith("application/json") else None
    unwrapped = isinstance(document, dict) and "data" in document
    content = json.dumps(document["data"]).encode() if unwrapped else body  # type: ignore[index]
    return Response(content, start["status"], media_type=content_type)


def canned_response(fault: Fault) -> Response:
    """The answer of a status or flat_error fault."""
    status = fault.status or 500
    if fault.kind == "flat_error":
        return JSONResponse({"error": HTTPStatus(status).phrase.lower().replace(" ", "_")}, status)
    if status == 502:  # what a proxy in front of the API sends
        return HTMLResponse(BAD_GATEWAY_HTML, 502)
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
    message = "Rate limit exceeded" if status == 429 else HTTPStatus(status).phrase
    return JSONResponse(ApiError(status, message).body(), status, headers=headers)
