"""The ASGI app: the API's routes under /api/v1 (auth, roles, envelope, errors) and test control routes."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cs_mcp.sandbox.auth import authenticate, authorize
from cs_mcp.sandbox.faults import FaultInjector, FaultMiddleware, fault_from_json
from cs_mcp.sandbox.formats import BASE_PATH
from cs_mcp.sandbox.handlers import Handlers, Req
from cs_mcp.sandbox.validation import ApiError, Fields

CONTROL_PATH = "/_sandbox"


class Endpoint(NamedTuple):
    method: str
    path: str  # under /api/v1, in Starlette's route syntax
    handler: str  # the Handlers method
    status: int = 200


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/numbers", "list_numbers"),
    Endpoint("GET", "/numbers/export", "export_numbers"),
    Endpoint("GET", "/numbers/bulk-stats", "numbers_bulk_stats"),
    Endpoint("GET", "/numbers/{id}/stats", "number_stats"),
    Endpoint("POST", "/numbers/search", "search_numbers"),
    Endpoint("POST", "/numbers/purchase", "purchase_number", 201),
    Endpoint("PATCH", "/numbers/{id}", "update_number"),
    Endpoint("DELETE", "/numbers/{id}", "release_number"),
    Endpoint("GET", "/call-flows", "list_flows"),
    Endpoint("POST", "/call-flows", "create_flow", 201),
    Endpoint("GET", "/call-flows/{id}", "get_flow"),
    Endpoint("PUT", "/call-flows/{id}", "update_flow"),
    Endpoint("DELETE", "/call-flows/{id}", "delete_flow"),
    Endpoint("GET", "/call-flows/{id}/numbers", "flow_numbers"),
    Endpoint("GET", "/call-flows/{id}/versions", "flow_versions"),
    Endpoint("POST", "/call-flows/{id}/duplicate", "duplicate_flow", 201),
    Endpoint("POST", "/call-flows/{id}/versions/{version:int}/restore", "restore_flow_version"),
    Endpoint("GET", "/conversations", "list_conversations"),
    Endpoint("GET", "/texts", "get_thread"),
    Endpoint("POST", "/texts", "send_text", 201),
    Endpoint("GET", "/sms", "list_sms_events"),
    Endpoint("GET", "/number-groups", "list_groups"),
    Endpoint("POST", "/number-groups", "create_group", 201),
    Endpoint("PUT", "/number-groups/{id}", "update_group"),
    Endpoint("DELETE", "/number-groups/{id}", "delete_group"),
    Endpoint("GET", "/number-groups/{id}/members", "group_members"),
    Endpoint("POST", "/number-groups/{id}/members", "add_group_members"),
    Endpoint("DELETE", "/number-groups/{id}/members/{number_id}", "remove_group_member"),
    Endpoint("GET", "/number-pools", "list_pools"),
    Endpoint("POST", "/number-pools", "create_pool", 201),
    Endpoint("GET", "/number-pools/{id}", "get_pool"),
    Endpoint("POST", "/number-pools/{id}/numbers", "add_pool_numbers"),
    Endpoint("DELETE", "/number-pools/{id}/numbers/{number_id}", "remove_pool_number"),
    Endpoint("GET", "/voicemails", "list_voicemails"),
    Endpoint("GET", "/voicemails/{id}", "get_voicemail"),
    Endpoint("GET", "/voicemails/{id}/recording", "voicemail_recording"),
    Endpoint("GET", "/forms", "list_forms"),
    Endpoint("GET", "/forms/{id}", "get_form"),
    Endpoint("GET", "/dashboard/stats", "dashboard_stats"),
    Endpoint("GET", "/webhooks/deliveries", "list_deliveries"),
    Endpoint("GET", "/calls", "list_calls"),
    Endpoint("GET", "/calls/{id}", "get_call"),
    Endpoint("GET", "/calls/{id}/recording", "call_recording"),
    Endpoint("GET", "/calls/{id}/transcription", "call_transcription"),
    Endpoint("GET", "/analytics/calls", "analytics"),
)


def error_response(error: ApiError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error.body(), error.status, headers=headers)


async def _read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, f"Request body is not valid JSON: {exc}") from None


def _endpoint(handler: Callable[[Req], Any], status: int) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: key (401), role (403), JSON body (400/422), then the envelope around its data."""

    async def run(request: Request) -> Response:
        try:
            role = authenticate(request.headers)
            authorize(role, request.method)
            body = await _read_json(request)
            if not isinstance(body, dict):
                raise ApiError(422, "Request body must be a JSON object")
            req = Req(
                params=dict(request.path_params),
                query=Fields(request.query_params, from_query=True),
                body=Fields(body, from_query=False),
                role=role,
                base_url=f"{request.url.scheme}://{request.url.netloc}{BASE_PATH}",
            )
            result = handler(req)
        except ApiError as error:
            return error_response(error)
        return result if isinstance(result, Response) else JSONResponse({"data": result}, status)

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


def _control_routes(injector: FaultInjector) -> list[Route]:
    """Test-only routes outside the API (no key): switch faults, read the request log."""

    def faults_now(status: int = 200) -> JSONResponse:
        return JSONResponse({"faults": [f.describe() for f in injector.faults]}, status)

    async def add_faults(request: Request) -> Response:
        try:
            document = await _read_json(request)
            items = document if isinstance(document, list) else [document]
            if not all(isinstance(item, dict) for item in items):
                raise ApiError(422, "Send a fault object or a list of them")
            new = [fault_from_json(item) for item in items]
        except ValueError as exc:
            return error_response(ApiError(422, str(exc)))
        except ApiError as error:
            return error_response(error)
        injector.faults.extend(new)
        return faults_now(201)

    async def list_faults(request: Request) -> Response:
        return faults_now()

    async def clear_faults(request: Request) -> Response:
        injector.clear()
        return faults_now()

    async def requests_seen(request: Request) -> Response:
        counts = {f"{method} {path}": n for (method, path), n in injector.counts().items()}
        return JSONResponse({"requests": [r._asdict() for r in injector.requests], "counts": counts})

    return [
        Route(f"{CONTROL_PATH}/faults", add_faults, methods=["POST"]),
        Route(f"{CONTROL_PATH}/faults", list_faults, methods=["GET"]),
        Route(f"{CONTROL_PATH}/faults", clear_faults, methods=["DELETE"]),
        Route(f"{CONTROL_PATH}/requests", requests_seen, methods=["GET"]),
    ]


def build_app(handlers: Handlers, injector: FaultInjector) -> Starlette:
    routes = [
        Route(BASE_PATH + e.path, _endpoint(getattr(handlers, e.handler), e.status), methods=[e.method])
        for e in ENDPOINTS
    ]
    return Starlette(
        routes=[*routes, *_control_routes(injector)],
        middleware=[Middleware(FaultMiddleware, injector=injector)],
        exception_handlers={HTTPException: _route_error},
    )
