"""The ASGI app: the resources' routes under /api/v1 behind key, role and body checks, the test
control routes, and the fault layer in front of it all."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from cs_mcp.sandbox.auth import authenticate, authorize
from cs_mcp.sandbox.control import control_routes
from cs_mcp.sandbox.fault_layer import FaultLayer
from cs_mcp.sandbox.faults import VARIANTS_SCOPE_KEY, FaultInjector
from cs_mcp.sandbox.formats import BASE_PATH
from cs_mcp.sandbox.request_log import RequestLog
from cs_mcp.sandbox.resources import ENDPOINTS
from cs_mcp.sandbox.routes import Endpoint, Req
from cs_mcp.sandbox.store import Store
from cs_mcp.sandbox.validation import ApiError, Fields
from cs_mcp.sandbox.wire import error_response, read_json

__all__ = ["ENDPOINTS", "Endpoint", "build_app"]


def build_app(store: Store, injector: FaultInjector, writes: RequestLog) -> ASGIApp:
    """The sandbox's app over `store`; every write it applies is appended to `writes`."""
    routes = [Route(BASE_PATH + e.path, _endpoint(store, e, writes), methods=[e.method]) for e in ENDPOINTS]
    api = Starlette(
        routes=[*routes, *control_routes(injector, writes)],
        exception_handlers={HTTPException: _route_error},
    )
    return FaultLayer(api, injector)


def _endpoint(
    store: Store, endpoint: Endpoint, writes: RequestLog
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: key (401), role (403), JSON body (400/422), then the envelope around its data."""

    async def run(request: Request) -> Response:
        try:
            role = authenticate(request.headers)
            authorize(role, request.method)
            body = await read_json(request)
            if not isinstance(body, dict):
                raise ApiError(422, "Request body must be a JSON object")
            req = Req(
                params=dict(request.path_params),
                query=Fields(request.query_params, from_query=True),
                body=Fields(body, from_query=False),
                role=role,
                base_url=f"{request.url.scheme}://{request.url.netloc}{BASE_PATH}",
                variants=request.scope.get(VARIANTS_SCOPE_KEY, {}),
            )
            result = endpoint.handler(store, req)
        except ApiError as error:
            return error_response(error)
        if endpoint.changes_state:
            writes.record(request.method, request.url.path[len(BASE_PATH) :], role)
        return result if isinstance(result, Response) else JSONResponse({"data": result}, endpoint.status)

    return run


async def _route_error(request: Request, exc: Exception) -> Response:
    """Unknown path (404) or method (405): an API path still checks the key first, as the API does."""
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if path.startswith(BASE_PATH + "/"):
        path = path[len(BASE_PATH) :]
        try:
            authenticate(request.headers)
        except ApiError as error:
            return error_response(error)
    messages = {
        404: f"No endpoint {request.method} {path}",
        405: f"Method {request.method} is not allowed on {path}",
    }
    return error_response(ApiError(exc.status_code, messages.get(exc.status_code, exc.detail)), exc.headers)
