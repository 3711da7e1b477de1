"""Test-only routes outside the API (no key): switch faults on and off, read the request logs.

POST /_sandbox/faults     {"kind": "status", "status": 503}, {"spec": "..."} or a list of them
GET, DELETE /_sandbox/faults
GET /_sandbox/requests    {"requests", "counts", "writes", "write_counts"}
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cs_mcp.sandbox.faults import FaultInjector, fault_from_json
from cs_mcp.sandbox.request_log import RequestLog
from cs_mcp.sandbox.validation import ApiError
from cs_mcp.sandbox.wire import error_response, read_json

CONTROL_PATH = "/_sandbox"


def control_routes(injector: FaultInjector, writes: RequestLog) -> list[Route]:
    def faults_now(status: int = 200) -> JSONResponse:
        return JSONResponse({"faults": [f.describe() for f in injector.faults]}, status)

    async def add_faults(request: Request) -> Response:
        try:
            document = await read_json(request)
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
        return JSONResponse(
            {
                "requests": [r._asdict() for r in injector.requests],
                "counts": _by_endpoint(injector.requests),
                "writes": [r._asdict() for r in writes],
                "write_counts": _by_endpoint(writes),
            }
        )

    return [
        Route(f"{CONTROL_PATH}/faults", add_faults, methods=["POST"]),
        Route(f"{CONTROL_PATH}/faults", list_faults, methods=["GET"]),
        Route(f"{CONTROL_PATH}/faults", clear_faults, methods=["DELETE"]),
        Route(f"{CONTROL_PATH}/requests", requests_seen, methods=["GET"]),
    ]


def _by_endpoint(log: RequestLog) -> dict[str, int]:
    return {f"{method} {path}": n for (method, path), n in log.counts().items()}
