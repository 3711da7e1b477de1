"""The shared API client: envelope, error mapping, retries, deadlines and secrecy of the key.

These use httpx.MockTransport so each answer sequence is exact; tests/sandbox covers the same client
against the simulator's injected faults.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio
import httpx
import pytest

from cs_mcp import errors
from cs_mcp.client import CallScalerClient, RetryPolicy
from cs_mcp.secrets import Secret

KEY = "cs_key_live_supersecret_123456"
FAST = RetryPolicy(max_attempts=4, total_seconds=5.0, base_delay=0.001, max_delay=0.01)


def client_for(handler: Callable[[httpx.Request], httpx.Response], **options: object) -> CallScalerClient:
    return CallScalerClient(
        Secret(KEY),
        "http://api.test/api/v1",
        transport=httpx.MockTransport(handler),
        **{"retry": FAST, **options},
    )  # type: ignore[arg-type]


def answers(
    *responses: httpx.Response | Exception,
) -> tuple[Callable[[httpx.Request], httpx.Response], list[httpx.Request]]:
    """A handler that plays `responses` in order (the last one repeats) and records every request."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = responses[min(len(seen), len(responses)) - 1]
        if isinstance(item, Exception):
            raise item
        return item

    return handler, seen


def error(status: int, message: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": str(status), "message": message}}, headers=headers)


pytestmark = pytest.mark.anyio


async def test_unwraps_the_data_envelope_and_sends_auth_and_user_agent() -> None:
    handler, seen = answers(httpx.Response(200, json={"data": {"numbers": [], "total": 0}}))
    data = await client_for(handler).get("/numbers", {"page": 1, "flag": True, "skip": None})
    assert data == {"numbers": [], "total": 0}
    request = seen[0]
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["user-agent"].startswith("cs-mcp/")
    assert str(request.url) == "http://api.test/api/v1/numbers?page=1&flag=true"


async def test_accepts_legacy_bodies_without_envelope() -> None:
    handler, _ = answers(httpx.Response(200, json={"call_id": "c1", "transcription": "hi"}))
    assert await client_for(handler).get("/calls/c1/transcription") == {
        "call_id": "c1",
        "transcription": "hi",
    }


@pytest.mark.parametrize(
    ("response", "kind", "fragment"),
    [
        (error(401, "Invalid API key"), errors.AuthenticationError, "CALLSCALER_API_KEY"),
        (httpx.Response(401, json={"error": "unauthorized"}), errors.AuthenticationError, "unauthorized"),
        (error(404, "Number not found"), errors.NotFound, "Number not found"),
        (error(409, "Numbers are attached"), errors.Conflict, "Numbers are attached"),
        (error(422, "to_number must be E.164"), errors.InvalidRequest, "to_number"),
        (httpx.Response(400, text="bad"), errors.InvalidRequest, "400"),
        (httpx.Response(500, text="<html>oops</html>"), errors.ServerError, "500"),
        (httpx.Response(200, text="{not json"), errors.MalformedResponse, "not JSON"),
        (
            httpx.Response(200, json={"error": {"code": "500", "message": "x"}}),
            errors.MalformedResponse,
            "error",
        ),
    ],
)
async def test_maps_each_failure_to_a_precise_error(
    response: httpx.Response, kind: type, fragment: str
) -> None:
    handler, _ = answers(response)
    with pytest.raises(kind) as caught:
        await client_for(handler).request("PATCH", "/numbers/1", json_body={"name": "x"})
    assert fragment in str(caught.value)


async def test_permission_error_names_the_role_needed() -> None:
    handler, _ = answers(error(403, "This endpoint requires the manager role"))
    with pytest.raises(errors.PermissionDenied) as caught:
        await client_for(handler).request("POST", "/numbers/purchase", json_body={})
    assert caught.value.required_role == "manager"
    assert "manager role" in str(caught.value)


async def test_reads_are_retried_on_transient_failures() -> None:
    handler, seen = answers(
        httpx.Response(503, text="busy"),
        httpx.ConnectError("refused"),
        httpx.Response(502, text="<html>bad gateway</html>"),
        httpx.Response(200, json={"data": {"ok": True}}),
    )
    assert await client_for(handler).get("/numbers") == {"ok": True}
    assert len(seen) == 4


async def test_reads_give_up_after_max_attempts() -> None:
    handler, seen = answers(httpx.Response(504, text="timeout"))
    with pytest.raises(errors.ServerError):
        await client_for(handler).get("/numbers")
    assert len(seen) == FAST.max_attempts


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize(
    "failure", [httpx.Response(503, text="busy"), httpx.ReadError("reset"), httpx.RemoteProtocolError("eof")]
)
async def test_writes_are_never_repeated_once_they_may_have_arrived(method: str, failure: object) -> None:
    handler, seen = answers(failure, httpx.Response(200, json={"data": {}}))  # type: ignore[arg-type]
    with pytest.raises(errors.WriteOutcomeUnknown) as caught:
        await client_for(handler).request(method, "/texts", json_body={"body": "hi"})
    assert len(seen) == 1
    assert "may or may not" in str(caught.value)


async def test_writes_are_retried_when_the_request_never_left() -> None:
    handler, seen = answers(httpx.ConnectError("refused"), httpx.Response(200, json={"data": {"id": "t1"}}))
    assert await client_for(handler).request("POST", "/texts", json_body={}) == {"id": "t1"}
    assert len(seen) == 2


async def test_rate_limit_honours_retry_after() -> None:
    handler, seen = answers(
        error(429, "Rate limit exceeded", **{"Retry-After": "0.2"}), httpx.Response(200, json={"data": 1})
    )
    started = time.monotonic()
    assert await client_for(handler).request("POST", "/numbers/search", json_body={}) == 1
    assert time.monotonic() - started >= 0.2
    assert len(seen) == 2


async def test_retry_after_beyond_the_time_budget_fails_at_once() -> None:
    handler, seen = answers(error(429, "slow down", **{"Retry-After": "60"}))
    started = time.monotonic()
    with pytest.raises(errors.RateLimited) as caught:
        await client_for(handler).get("/numbers")
    assert time.monotonic() - started < 1
    assert caught.value.retry_after == 60
    assert "Retry in 60 s" in str(caught.value)
    assert len(seen) == 1


async def test_total_retry_time_is_bounded() -> None:
    handler, seen = answers(error(429, "slow", **{"Retry-After": "0.3"}))
    policy = RetryPolicy(max_attempts=50, total_seconds=1.0, base_delay=0.001, max_delay=0.01)
    started = time.monotonic()
    with pytest.raises(errors.RateLimited):
        await client_for(handler, retry=policy).get("/numbers")
    assert time.monotonic() - started < 1.5
    assert len(seen) <= 5


async def test_a_slow_answer_times_out_even_in_process() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(5)
        return httpx.Response(200, json={"data": {}})

    client = CallScalerClient(
        Secret(KEY),
        "http://api.test/api/v1",
        transport=httpx.MockTransport(slow),
        timeout=0.2,
        retry=RetryPolicy(max_attempts=2, total_seconds=2, base_delay=0.001),
    )
    started = time.monotonic()
    with pytest.raises(errors.RequestTimeout):
        await client.get("/numbers")
    assert time.monotonic() - started < 2
    with pytest.raises(errors.WriteOutcomeUnknown):
        await client.request("POST", "/numbers/purchase", json_body={})


async def test_the_key_never_shows_in_reprs_or_errors() -> None:
    echo = error(401, f"Invalid API key {KEY}")
    handler, _ = answers(echo)
    client = client_for(handler)
    with pytest.raises(errors.AuthenticationError) as caught:
        await client.get("/numbers")
    texts = [str(caught.value), repr(caught.value), repr(client), str(client.__dict__), repr(Secret(KEY))]
    for text in texts:
        assert KEY not in text
        assert "supersecret" not in text
