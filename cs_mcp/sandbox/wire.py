"""Request bodies in, error answers out: the JSON handling the API routes and control routes share."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from cs_mcp.sandbox.validation import ApiError


async def read_json(request: Request) -> Any:
    """The request's JSON body (an empty body is `{}`); 400 when it is not JSON."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, f"Request body is not valid JSON: {exc}") from None


def error_response(error: ApiError, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error.body(), error.status, headers=headers)
