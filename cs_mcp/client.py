"""The one CallScaler API client: a thin layer over a shared `httpx.AsyncClient`.

It adds what every endpoint needs and nothing endpoint-specific: bearer auth, a `User-Agent`,
per-attempt deadlines, the `data` envelope (and the legacy bare bodies), precise exceptions from
`cs_mcp.errors`, and retries that can never repeat a change:

| failure                                  | GET     | PUT/PATCH/DELETE/POST |
|------------------------------------------|---------|-----------------------|
| 429 (honours Retry-After)                | retried | retried: the API refused it before doing anything |
| connect error (the request never left)   | retried | retried               |
| 502, 503, 504, read error, read timeout  | retried | never: it may have been applied (`WriteOutcomeUnknown`) |

Tries and total time are both bounded; a Retry-After longer than the time left ends the retries.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from cs_mcp import __version__
from cs_mcp.errors import (
    CallScalerError,
    ConnectionFailed,
    MalformedResponse,
    RateLimited,
    RequestTimeout,
    ServerError,
    WriteOutcomeUnknown,
    error_for_status,
)
from cs_mcp.secrets import Secret, redact

logger = logging.getLogger("cs_mcp.client")

RETRYABLE_READ_STATUSES = frozenset({502, 503, 504})
_ROLE_IN_MESSAGE = re.compile(r"\b(viewer|manager|admin|owner)\b role", re.IGNORECASE)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    total_seconds: float = 30.0
    base_delay: float = 0.25
    max_delay: float = 4.0

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter: spreads retries from many clients apart."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


@dataclass(frozen=True)
class RawResponse:
    """A non-JSON answer (CSV export, audio recording)."""

    content: bytes
    media_type: str


class CallScalerClient:
    """Calls the CallScaler API. One instance (one connection pool) serves the whole process."""

    def __init__(
        self,
        api_key: Secret,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 20.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._http = httpx.AsyncClient(
            base_url=self.base_url + "/",
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            # Keep every pooled connection alive: with fewer keep-alive slots than connections, httpx closes
            # a connection on each release under load, so every request paid a new TCP/TLS handshake.
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=20),
            headers={"User-Agent": f"cs-mcp/{__version__}", "Accept": "application/json"},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"CallScalerClient(base_url={self.base_url!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return await self.request("GET", path, params=params)

    async def get_raw(self, path: str, params: Mapping[str, Any] | None = None) -> RawResponse:
        response = await self._send("GET", path, params=params, body=None)
        return RawResponse(response.content, response.headers.get("content-type", "application/octet-stream"))

    async def request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json_body: Any = None
    ) -> Any:
        """Send a request and return the unwrapped `data` (or the bare legacy body)."""
        response = await self._send(method, path, params=params, body=json_body)
        return _unwrap(response)

    async def _send(
        self, method: str, path: str, *, params: Mapping[str, Any] | None, body: Any
    ) -> httpx.Response:
        started = time.monotonic()
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        headers = {"Authorization": f"Bearer {self._api_key.reveal()}"}
        for attempt in range(self._retry.max_attempts):
            retry_in: float | None = None
            try:
                with anyio.fail_after(self._timeout):
                    response = await self._http.request(
                        method, path.lstrip("/"), params=query, json=body, headers=headers
                    )
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                error: CallScalerError = ConnectionFailed(
                    f"could not connect to CallScaler ({type(exc).__name__})"
                )
                retry_in = self._retry.backoff(attempt)
            except (TimeoutError, httpx.TimeoutException):
                error = self._lost(
                    method, RequestTimeout(f"{method} {path} timed out after {self._timeout:g} s")
                )
                retry_in = self._retry.backoff(attempt) if method == "GET" else None
            except httpx.TransportError as exc:
                error = self._lost(
                    method,
                    ConnectionFailed(f"the connection broke during {method} {path} ({type(exc).__name__})"),
                )
                retry_in = self._retry.backoff(attempt) if method == "GET" else None
            else:
                if response.is_success:
                    return response
                error = _error_from(response)
                if isinstance(error, RateLimited):
                    retry_in = (
                        error.retry_after if error.retry_after is not None else self._retry.backoff(attempt)
                    )
                elif response.status_code in RETRYABLE_READ_STATUSES:
                    if method == "GET":
                        retry_in = self._retry.backoff(attempt)
                    else:
                        error = self._lost(method, error)
            elapsed = time.monotonic() - started
            last_try = attempt + 1 >= self._retry.max_attempts
            if retry_in is None or last_try or elapsed + retry_in > self._retry.total_seconds:
                raise error
            logger.info("retrying %s %s in %.2fs after %s", method, path, retry_in, type(error).__name__)
            await anyio.sleep(retry_in)
        raise AssertionError("unreachable: the loop raises or returns")

    @staticmethod
    def _lost(method: str, error: CallScalerError) -> CallScalerError:
        """A write whose answer never came may have taken effect: say so rather than guess."""
        if method == "GET":
            return error
        return WriteOutcomeUnknown(
            f"{error.message}; the change may or may not have been applied", status=error.status
        )


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return value


def _unwrap(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise MalformedResponse(
            f"CallScaler answered {response.status_code} with a body that is not JSON",
            status=response.status_code,
        ) from None
    if isinstance(body, dict):
        if "data" in body:
            return body["data"]
        if "error" in body:
            raise _error_from(response)
    # A few legacy endpoints answer without the envelope; the caller's model validates the shape.
    return body


def _error_from(response: httpx.Response) -> CallScalerError:
    """The exception for an error answer, from either error form or a non-JSON body."""
    status = response.status_code
    message, required_role = "", None
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message = str(error.get("message") or error.get("code") or "")
            required_role = error.get("required_role")
        elif error is not None:
            message = str(error)
    if not message:
        message = f"HTTP {status} {response.reason_phrase}".strip()
    if status == 403 and not required_role and (match := _ROLE_IN_MESSAGE.search(message)):
        required_role = match.group(1).lower()
    if status < 400:  # an error body with a success status
        return MalformedResponse(
            f"CallScaler answered {status} with an error: {redact(message)}", status=status
        )
    return error_for_status(
        status,
        f"CallScaler answered {status}: {message}",
        required_role=required_role,
        retry_after=_retry_after(response),
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


__all__ = ["CallScalerClient", "RawResponse", "RetryPolicy", "ServerError"]
