"""The shared API client: envelope, error mapping, retries, deadlines, write outcomes, secrecy of the key.

These use httpx.MockTransport so each answer sequence is exact, and a fake clock and sleep (FakeTime) so
retries take no real time; tests/test_client_faults.py covers the same client against the sandbox.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import httpx
import pytest

from cs_mcp import errors
from cs_mcp.client import CallScalerClient
from cs_mcp.secrets import Secret
from tests.fake_time import FakeTime

KEY = "cs_key_live_supersecret_123456"
Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]


def client_for(handler: Handler, time: FakeTime | None = None, **options: object) -> CallScalerClient:
    return CallScalerClient(
        Secret(KEY),
        "http://api.test/api/v1",
        transport=httpx.MockTransport(handler),
        **{"retry": (time or FakeTime()).policy(), **options},
    )  # type: ignore[arg-type]


def answers(*responses: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
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
async def test_a_read_maps_each_failure_to_a_precise_error(
    response: httpx.Response, kind: type, fragment: str
) -> None:
    handler, _ = answers(response)
    with pytest.raises(kind) as caught:
        await client_for(handler).get("/numbers")
    assert fragment in str(caught.value)
    assert "may or may not" not in str(caught.value)


async def test_permission_error_names_the_role_needed() -> None:
    handler, _ = answers(error(403, "This endpoint requires the manager role"))
    with pytest.raises(errors.PermissionDenied) as caught:
        await client_for(handler).request("POST", "/numbers/purchase", json_body={})
    assert caught.value.required_role == "manager"
    assert "manager role" in str(caught.value)


async def test_reads_are_retried_on_transient_failures() -> None:
    time = FakeTime()
    handler, seen = answers(
        httpx.Response(503, text="busy"),
        httpx.ConnectError("refused"),
        httpx.Response(502, text="<html>bad gateway</html>"),
        httpx.Response(200, json={"data": {"ok": True}}),
    )
    assert await client_for(handler, time).get("/numbers") == {"ok": True}
    assert len(seen) == 4
    assert len(time.slept) == 3


async def test_reads_give_up_after_max_attempts() -> None:
    time = FakeTime()
    handler, seen = answers(httpx.Response(504, text="timeout"))
    with pytest.raises(errors.ServerError):
        await client_for(handler, time, retry=time.policy(max_attempts=3)).get("/numbers")
    assert len(seen) == 3


# Answers after which a write may have been applied: each must say so, and never be sent again.
MAYBE_APPLIED = {
    "500": httpx.Response(500, json={"error": {"code": "500", "message": "Internal server error"}}),
    "501": httpx.Response(501, text="not implemented"),
    "502 html": httpx.Response(502, text="<html>bad gateway</html>"),
    "503": httpx.Response(503, text="busy"),
    "408": error(408, "Request timeout"),
    "303": httpx.Response(303, headers={"Location": "/texts/t1"}),
    "2xx not JSON": httpx.Response(200, text='{"data": {"id": "t1"'),
    "2xx error body": httpx.Response(200, json={"error": {"code": "500", "message": "x"}}),
    "2xx JSON not an object": httpx.Response(201, json=["t1"]),
    "read timeout": httpx.ReadTimeout("slow"),
    "write timeout": httpx.WriteTimeout("slow"),
    "read error": httpx.ReadError("reset"),
    "connection dropped": httpx.RemoteProtocolError("eof"),
}


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("failure", MAYBE_APPLIED.values(), ids=MAYBE_APPLIED.keys())
async def test_a_write_that_may_have_been_applied_is_unknown_and_never_repeated(
    method: str, failure: httpx.Response | Exception
) -> None:
    handler, seen = answers(failure, httpx.Response(200, json={"data": {}}))
    with pytest.raises(errors.WriteOutcomeUnknown) as caught:
        await client_for(handler).request(method, "/texts", json_body={"body": "hi"})
    assert len(seen) == 1
    text = str(caught.value)
    assert f"{method} /texts was sent" in text and "may or may not" in text
    assert "before doing it again, read the current state" in text.lower()
    assert "try again" not in text.lower()


async def test_a_write_answered_no_content_is_done() -> None:
    handler, seen = answers(httpx.Response(204))
    assert await client_for(handler).request("DELETE", "/number-groups/g1") is None
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("response", "kind"),
    [
        (error(400, "bad body"), errors.InvalidRequest),
        (error(401, "Invalid API key"), errors.AuthenticationError),
        (error(403, "requires the manager role"), errors.PermissionDenied),
        (error(404, "No number"), errors.NotFound),
        (error(409, "stale config_version"), errors.Conflict),
        (error(422, "to_number must be E.164"), errors.InvalidRequest),
    ],
)
async def test_a_write_the_api_refused_is_reported_as_refused(response: httpx.Response, kind: type) -> None:
    handler, seen = answers(response)
    with pytest.raises(kind) as caught:
        await client_for(handler).request("POST", "/texts", json_body={})
    assert not isinstance(caught.value, errors.WriteOutcomeUnknown)
    assert len(seen) == 1


@pytest.mark.parametrize(
    "never_sent",
    [
        httpx.ConnectError("refused"),
        httpx.ConnectTimeout("slow handshake"),
        httpx.PoolTimeout("no free connection"),
        error(429, "Rate limit exceeded", **{"Retry-After": "1"}),
    ],
    ids=["connect error", "connect timeout", "pool timeout", "429"],
)
async def test_a_write_is_retried_when_it_was_refused_or_never_left(never_sent: object) -> None:
    handler, seen = answers(never_sent, httpx.Response(200, json={"data": {"id": "t1"}}))  # type: ignore[arg-type]
    assert await client_for(handler).request("POST", "/texts", json_body={}) == {"id": "t1"}
    assert len(seen) == 2


async def test_the_number_search_is_a_read_retried_and_reported_as_one() -> None:
    """POST /numbers/search changes nothing: retried like a GET, and its failure says nothing of changes."""
    handler, seen = answers(httpx.Response(503, json={"error": {"code": "503", "message": "Unavailable"}}))
    with pytest.raises(errors.ServerError) as caught:
        await client_for(handler).request("POST", "/numbers/search", json_body={"area_code": "813"})
    assert len(seen) == 4
    assert "may or may not" not in str(caught.value) and "applied" not in str(caught.value)


async def test_idempotence_is_explicit_either_way() -> None:
    handler, seen = answers(httpx.Response(503, text="busy"), httpx.Response(200, json={"data": {"ok": 1}}))
    client = client_for(handler)
    assert await client.request("PATCH", "/numbers/1", json_body={"name": "x"}, idempotent=True) == {"ok": 1}
    assert len(seen) == 2
    handler, seen = answers(httpx.Response(503, text="busy"))
    with pytest.raises(errors.WriteOutcomeUnknown):
        await client_for(handler).request("POST", "/numbers/search", json_body={}, idempotent=False)
    assert len(seen) == 1


async def test_rate_limit_honours_retry_after() -> None:
    time = FakeTime()
    handler, seen = answers(
        error(429, "Rate limit exceeded", **{"Retry-After": "0.2"}), httpx.Response(200, json={"data": 1})
    )
    assert await client_for(handler, time).request("POST", "/numbers/search", json_body={}) == 1
    assert time.slept == [0.2]
    assert len(seen) == 2


async def test_retry_after_beyond_the_time_budget_fails_at_once() -> None:
    time = FakeTime()
    handler, seen = answers(error(429, "slow down", **{"Retry-After": "60"}))
    with pytest.raises(errors.RateLimited) as caught:
        await client_for(handler, time).get("/numbers")
    assert time.slept == []
    assert caught.value.retry_after == 60
    assert "Retry in 60 s" in str(caught.value)
    assert len(seen) == 1


async def test_total_retry_time_is_bounded() -> None:
    time = FakeTime()
    handler, seen = answers(error(429, "slow", **{"Retry-After": "0.3"}))
    with pytest.raises(errors.RateLimited):
        await client_for(handler, time, retry=time.policy(max_attempts=50, total_seconds=1.0)).get("/numbers")
    assert time.slept == [0.3, 0.3, 0.3]  # a fourth wait would end past the 1 s budget
    assert len(seen) == 4


async def test_each_attempt_gets_only_the_time_left_in_the_budget() -> None:
    """A GET that hangs is given 20 s, then the 10 s left of a 30 s budget: 30 s in all, not 40 (r14)."""
    time = FakeTime()
    deadlines: list[float] = []

    def hangs(request: httpx.Request) -> httpx.Response:
        deadlines.append(request.extensions["timeout"]["read"])
        time.advance(deadlines[-1])  # it hangs until the attempt's deadline
        raise httpx.ReadTimeout("no answer", request=request)

    client = client_for(hangs, time, timeout=20.0, retry=time.policy(total_seconds=30.0))
    with pytest.raises(errors.RequestTimeout) as caught:
        await client.get("/numbers")
    assert deadlines == [20.0, 10.0]
    assert time.now == 30.0
    assert "GET /numbers: no answer came within 10 s (attempt 2)" in str(caught.value)


@pytest.mark.parametrize(
    ("method", "kind"), [("GET", errors.RequestTimeout), ("POST", errors.WriteOutcomeUnknown)]
)
async def test_a_hanging_answer_is_cut_at_the_deadline_even_in_process(method: str, kind: type) -> None:
    """MockTransport honours no timeouts, so only the client's own deadline can end this wait."""

    async def never_answers(request: httpx.Request) -> httpx.Response:
        await anyio.Event().wait()
        raise AssertionError("unreachable")

    time = FakeTime()
    client = client_for(
        never_answers, time, timeout=20.0, retry=time.policy(total_seconds=0.05, max_attempts=1)
    )
    with pytest.raises(kind) as caught:
        await client.request(method, "/numbers/purchase" if method == "POST" else "/numbers", json_body=None)
    assert "no answer came within 0.05 s" in str(caught.value)


def error_classes() -> list[type[errors.CallScalerError]]:
    found, todo = [], [errors.CallScalerError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


@pytest.mark.parametrize("kind", error_classes(), ids=lambda kind: kind.__name__)
def test_every_error_reads_as_sentences(kind: type[errors.CallScalerError]) -> None:
    """A message and its hint are two sentences, never "...revoked Check CALLSCALER_API_KEY" (r14)."""
    text = str(kind("CallScaler answered 401: API key revoked"))
    assert text.startswith("CallScaler answered 401: API key revoked")
    if kind.hint or kind in (errors.PermissionDenied, errors.RateLimited):
        assert "API key revoked. " in text and text.endswith(".")
        hint = text.removeprefix("CallScaler answered 401: API key revoked. ")
        assert hint[0].isupper() and ".." not in text and "  " not in text, text
    assert ".." not in str(kind("A message that ends a sentence."))


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
