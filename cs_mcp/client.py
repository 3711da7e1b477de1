"""The one CallScaler API client: a thin layer over a shared `httpx.AsyncClient`.

It adds what every endpoint needs and nothing endpoint-specific: bearer auth, a `User-Agent`,
per-attempt deadlines, the `data` envelope (and the legacy bare bodies), precise exceptions from
`cs_mcp.errors`, and retries that can never repeat a change.

A request is *idempotent* when repeating it changes nothing: every GET, and the POSTs that only read
(`READ_ONLY_POSTS`). Every other request is a write that is sent once, and only an answer proving
the API refused it before acting counts as "not done"; anything else is `WriteOutcomeUnknown`:

| outcome                                   | idempotent | write                                   |
|-------------------------------------------|------------|-----------------------------------------|
| 429 (honours Retry-After)                 | retried    | retried: refused before acting          |
| connect error (the request never left)    | retried    | retried                                 |
| other 4xx but 408                         | raised     | raised: refused before acting, not done |
| 502, 503, 504, read error, timeout        | retried    | `WriteOutcomeUnknown`, never retried    |
| other 5xx, 408, 3xx                       | raised     | `WriteOutcomeUnknown`, never retried    |
| 2xx not JSON (204 is fine), or an error   | raised     | `WriteOutcomeUnknown`                   |
| 2xx with JSON that is not an object       | returned   | `WriteOutcomeUnknown`                   |

Tries and total time are both bounded: each attempt's deadline is the per-attempt timeout or the
time left in the budget, whichever is sooner, and a Retry-After longer than the time left ends the
retries.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx

from cs_mcp import __version__, api, sliced_json
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
from cs_mcp.models import fence
from cs_mcp.secrets import Secret

logger = logging.getLogger("cs_mcp.client")

RETRYABLE_READ_STATUSES = frozenset({502, 503, 504})
# POST endpoints that only read (the API takes their query as a body): safe to repeat.
READ_ONLY_POSTS = frozenset({"/numbers/search"})
# Failures raised before a byte of the request left: nothing can have happened.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Answers from this size on are decoded in slices (~2.5 ms of json.loads at this size, ~110 ms at 10 MB).
SLICED_DECODING_BYTES = 256 * 1024
# Keep every pooled connection alive: with fewer keep-alive slots than connections, httpx closes a
# connection on each release under load, so every request paid a new TCP/TLS handshake.
POOL_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=20)
_ROLE_IN_MESSAGE = re.compile(r"\b(viewer|manager|admin|owner)\b role", re.IGNORECASE)


def idempotent_by_default(method: str, path: str) -> bool:
    """Whether repeating `method path` can change nothing: reads only.

    PUT, PATCH and DELETE are not retried either, though some are idempotent in effect: a repeat's
    answer would not tell the truth about the first (a DELETE that worked answers 404 the second time,
    a versioned PUT answers 409), so a caller opts in with `idempotent=True` only where it would.
    """
    method = method.upper()
    return method == "GET" or (method == "POST" and "/" + path.strip("/") in READ_ONLY_POSTS)


def refused_before_acting(status: int) -> bool:
    """A 4xx says the API refused the request as sent; 408 (it gave up waiting) proves nothing."""
    return 400 <= status < 500 and status != 408


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. `clock` and `sleep` are injectable so tests need no real time."""

    max_attempts: int = 4
    total_seconds: float = 30.0
    base_delay: float = 0.25
    max_delay: float = 4.0
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)
    sleep: Callable[[float], Awaitable[None]] = field(default=anyio.sleep, compare=False)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter: spreads retries from many clients apart."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


@dataclass(frozen=True)
class RawResponse:
    """A non-JSON answer (CSV export, audio recording)."""

    content: bytes
    media_type: str


@dataclass(frozen=True)
class _Request:
    """One request as the retry loop sees it: what to name in an error, and whether it may be repeated."""

    method: str
    path: str
    idempotent: bool

    def unknown(self, cause: str, status: int | None = None) -> WriteOutcomeUnknown:
        """A write that may have been applied is reported as such, never as failed."""
        return WriteOutcomeUnknown(f"{self.method} {self.path} was sent, but {cause}", status=status)


KeySource = Callable[[], Secret]


class CallScalerClient:
    """Calls the CallScaler API. One instance (one connection pool) serves the whole process.

    `api_key` is a key, or where each request's key comes from: in hosted mode the current caller's
    (`Principals.api_key`), so every user's requests share one pool and each carries its own key."""

    def __init__(
        self,
        api_key: Secret | KeySource,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 20.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key: KeySource = api_key if callable(api_key) else lambda: api_key
        self._owns_pool = True
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._http = httpx.AsyncClient(
            base_url=self.base_url + "/",
            transport=transport,
            timeout=_timeouts(timeout),
            limits=POOL_LIMITS,
            headers={"User-Agent": f"cs-mcp/{__version__}", "Accept": "application/json"},
            follow_redirects=False,
        )
        self._attach_resources()

    def _attach_resources(self) -> None:
        # The typed resource layer (cs_mcp/api/): `client.numbers.list()` and the like, sent through this client.
        self.numbers = api.Numbers(self)
        self.call_flows = api.CallFlows(self)
        self.texts = api.Texts(self)
        self.number_groups = api.NumberGroups(self)
        self.number_pools = api.NumberPools(self)
        self.voicemails = api.Voicemails(self)
        self.forms = api.Forms(self)
        self.calls = api.Calls(self)
        self.webhooks = api.Webhooks(self)
        self.endpoints = api.Endpoints(self)  # any documented path, for the generic handlers

    def __repr__(self) -> str:
        return f"CallScalerClient(base_url={self.base_url!r})"

    def for_key(self, api_key: Secret) -> CallScalerClient:
        """This client sending `api_key` instead, over the same connection pool (which it does not close)."""
        view = copy.copy(self)
        view._api_key = lambda: api_key
        view._owns_pool = False
        view._attach_resources()
        return view

    async def aclose(self) -> None:
        if self._owns_pool:
            await self._http.aclose()

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return await self.request("GET", path, params=params)

    async def get_raw(self, path: str, params: Mapping[str, Any] | None = None) -> RawResponse:
        response = await self._send(_Request("GET", path, idempotent=True), params=params, body=None)
        return RawResponse(response.content, response.headers.get("content-type", "application/octet-stream"))

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Send a request and return the unwrapped `data` (or the bare legacy body).

        `idempotent` (default: `idempotent_by_default`) says the request may be repeated: only then is it
        retried after it may have reached the API, and only then is a lost answer not `WriteOutcomeUnknown`.
        """
        call = _Request(
            method.upper(), path, idempotent_by_default(method, path) if idempotent is None else idempotent
        )
        response = await self._send(call, params=params, body=json_body)
        try:
            return _unwrap(response, await _decoded(response), expect_object=not call.idempotent)
        except CallScalerError as exc:
            if call.idempotent:
                raise
            # A success status with an unreadable answer: the write may well have been applied.
            raise call.unknown(exc.message, exc.status) from None

    async def _send(self, call: _Request, *, params: Mapping[str, Any] | None, body: Any) -> httpx.Response:
        policy = self._retry
        deadline = policy.clock() + policy.total_seconds
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        headers = {"Authorization": f"Bearer {self._api_key().reveal()}"}
        error: CallScalerError | None = None
        for tries in range(1, policy.max_attempts + 1):
            seconds = min(self._timeout, deadline - policy.clock())
            if error is not None and seconds <= 0:  # the wait used up the budget
                raise error
            try:
                with anyio.fail_after(seconds):
                    response = await self._http.request(
                        call.method,
                        call.path.lstrip("/"),
                        params=query,
                        json=body,
                        headers=headers,
                        timeout=_timeouts(seconds),
                    )
            except (TimeoutError, httpx.TransportError) as exc:
                error, retry_in = self._transport_failure(call, exc, seconds, tries)
            else:
                if response.is_success:
                    return response
                error, retry_in = self._answer_failure(call, response, tries)
            if retry_in is None or tries >= policy.max_attempts or policy.clock() + retry_in >= deadline:
                raise error
            logger.info(
                "retrying %s %s in %.2fs after %s",
                call.method,
                call.path,
                retry_in,
                type(error).__name__,
            )
            await policy.sleep(retry_in)
        raise AssertionError("unreachable: the loop raises or returns")

    def _transport_failure(
        self, call: _Request, exc: Exception, seconds: float, tries: int
    ) -> tuple[CallScalerError, float | None]:
        """The error for a request that got no answer, and the wait before retrying it (None: don't)."""
        backoff = self._retry.backoff(tries - 1)
        if isinstance(exc, NEVER_SENT):
            return ConnectionFailed(f"Could not connect to CallScaler ({type(exc).__name__})"), backoff
        timed_out = isinstance(exc, TimeoutError | httpx.TimeoutException)
        cause = (
            f"no answer came within {seconds:.3g} s"
            if timed_out
            else f"the connection broke before the answer came ({type(exc).__name__})"
        )
        if not call.idempotent:
            return call.unknown(cause), None
        kind = RequestTimeout if timed_out else ConnectionFailed
        retried = f" (attempt {tries})" if tries > 1 else ""
        return kind(f"{call.method} {call.path}: {cause}{retried}"), backoff

    def _answer_failure(
        self, call: _Request, response: httpx.Response, tries: int
    ) -> tuple[CallScalerError, float | None]:
        """The error for an error answer, and the wait before retrying it (None: don't)."""
        error = _error_from(response)
        if isinstance(error, RateLimited):  # refused before acting: safe to repeat, writes included
            wait = error.retry_after if error.retry_after is not None else self._retry.backoff(tries - 1)
            return error, wait
        if call.idempotent:
            retryable = response.status_code in RETRYABLE_READ_STATUSES
            return error, self._retry.backoff(tries - 1) if retryable else None
        if refused_before_acting(response.status_code):
            return error, None
        return call.unknown(error.message, error.status), None


def _timeouts(seconds: float) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=min(seconds, 10.0))


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return value


async def _decoded(response: httpx.Response) -> Any:
    """The JSON body of a success answer (None for 204); a big one is decoded in slices, giving the
    event loop a turn every few milliseconds, so other requests are not held behind it."""
    if response.status_code == 204:  # No Content: done, and nothing to tell
        return None
    content = response.content
    try:
        if len(content) < SLICED_DECODING_BYTES:
            return json.loads(content)
        return await sliced_json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise MalformedResponse(
            f"CallScaler answered {response.status_code} with a body that is not JSON",
            status=response.status_code,
        ) from None


def _unwrap(response: httpx.Response, body: Any, *, expect_object: bool) -> Any:
    """The `data` of a success answer's body. `expect_object`: anything but a JSON object is malformed."""
    if response.status_code == 204:
        return None
    if isinstance(body, dict):
        if "data" in body:
            return body["data"]
        if "error" in body:
            raise _error_from(response)
    elif expect_object:
        raise MalformedResponse(
            f"CallScaler answered {response.status_code} with JSON that is not an object",
            status=response.status_code,
        )
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
    if status == 403 and not required_role and (match := _ROLE_IN_MESSAGE.search(message)):
        required_role = match.group(1).lower()
    # The API's words may quote outside data (a caller's name, a form field): fenced like any untrusted text.
    message = fence(message) if message else f"HTTP {status} {response.reason_phrase}".strip()
    if status < 400:  # an error body with a success status
        return MalformedResponse(f"CallScaler answered {status} with an error: {message}", status=status)
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
