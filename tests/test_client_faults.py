"""The shared API client against the sandbox's injected faults (the same client the server uses).

Retries wait on a fake clock (FakeTime); only the deadline tests wait, a few hundredths of a second.
"""

from __future__ import annotations

from typing import Any

import pytest

from cs_mcp import errors
from cs_mcp.client import CallScalerClient
from cs_mcp.config import SANDBOX_BASE_URL
from cs_mcp.sandbox import SANDBOX_KEYS, Sandbox, SandboxTransport
from cs_mcp.secrets import Secret
from tests.fake_time import FakeTime

pytestmark = pytest.mark.anyio


def client(
    sandbox: Sandbox, role: str = "manager", time: FakeTime | None = None, **options: object
) -> CallScalerClient:
    return CallScalerClient(
        Secret(SANDBOX_KEYS[role]),
        SANDBOX_BASE_URL,
        transport=SandboxTransport(sandbox),
        **{"retry": (time or FakeTime()).policy(), **options},  # type: ignore[arg-type]
    )


def sent(sandbox: Sandbox, method: str, path: str) -> int:
    return sum(1 for r in sandbox.requests if r.method == method and r.path == path)


async def test_a_read_is_retried_through_server_errors(sandbox: Sandbox) -> None:
    sandbox.faults.add("status", status=503, times=2, path="/numbers")
    data = await client(sandbox).get("/numbers")
    assert data["total"] == len(sandbox.state["numbers"])
    assert sent(sandbox, "GET", "/numbers") == 3


async def test_rate_limit_waits_for_retry_after(sandbox: Sandbox) -> None:
    sandbox.faults.add("status", status=429, retry_after=1, times=1, path="/numbers/bulk-stats")
    time = FakeTime()
    await client(sandbox, time=time).get("/numbers/bulk-stats")
    assert time.slept == [1]
    assert sent(sandbox, "GET", "/numbers/bulk-stats") == 2


async def test_a_dropped_write_is_never_repeated(sandbox: Sandbox) -> None:
    number = next(n for n in sandbox.state["numbers"] if n["sms_enabled"])
    before = len(sandbox.state["texts"])
    sandbox.faults.add("drop", method="POST", path="/texts")
    body = {"from_number": number["phone_number"], "to_number": "+18135550142", "body": "Hello"}
    with pytest.raises(errors.WriteOutcomeUnknown):
        await client(sandbox).request("POST", "/texts", json_body=body)
    assert sent(sandbox, "POST", "/texts") == 1
    assert len(sandbox.state["texts"]) == before + 1  # it did happen, once


def sms(sandbox: Sandbox, to_number: str) -> dict[str, Any]:
    sender = next(n for n in sandbox.state["numbers"] if n["sms_enabled"])
    return {"from_number": sender["phone_number"], "to_number": to_number, "body": "Hello"}


def texts_to(sandbox: Sandbox, to_number: str) -> int:
    return sum(1 for text in sandbox.state["texts"] if text.get("to_number") == to_number)


@pytest.mark.parametrize(
    ("kind", "options", "applied"),
    [
        ("malformed", {}, 1),  # the API sent it, then its 200 came back cut in half (r01)
        ("drop", {}, 1),
        ("status", {"status": 500}, 0),  # refused before acting, but a 500 cannot prove it
        ("status", {"status": 408}, 0),
        ("flat_error", {"status": 503}, 0),
    ],
)
async def test_a_write_without_a_trustworthy_answer_is_unknown_and_sent_once(
    sandbox: Sandbox, kind: str, options: dict, applied: int
) -> None:
    sandbox.faults.add(kind, method="POST", path="/texts", **options)
    with pytest.raises(errors.WriteOutcomeUnknown) as caught:
        await client(sandbox).request("POST", "/texts", json_body=sms(sandbox, "+18135550143"))
    assert sent(sandbox, "POST", "/texts") == 1
    assert texts_to(sandbox, "+18135550143") == applied
    assert "POST /texts was sent" in str(caught.value) and "read the current state" in str(caught.value)


async def test_a_write_answered_without_its_envelope_is_done(sandbox: Sandbox) -> None:
    sandbox.faults.add("no_envelope", method="POST", path="/texts")
    data = await client(sandbox).request("POST", "/texts", json_body=sms(sandbox, "+18135550144"))
    assert isinstance(data, dict) and texts_to(sandbox, "+18135550144") == 1


async def test_a_write_the_api_refuses_is_not_done(sandbox: Sandbox) -> None:
    with pytest.raises(errors.InvalidRequest):
        await client(sandbox).request("POST", "/texts", json_body={**sms(sandbox, "+1813"), "body": ""})
    assert sent(sandbox, "POST", "/texts") == 1


async def test_a_failed_number_search_is_retried_and_says_nothing_of_changes(sandbox: Sandbox) -> None:
    sandbox.faults.add("status", status=503, path="/numbers/search")
    with pytest.raises(errors.ServerError) as caught:
        await client(sandbox).request("POST", "/numbers/search", json_body={"area_code": "813"})
    assert sent(sandbox, "POST", "/numbers/search") == 4
    assert "applied" not in str(caught.value) and "may or may not" not in str(caught.value)


async def test_a_slow_answer_times_out_at_the_deadline(sandbox: Sandbox) -> None:
    sandbox.faults.add("timeout", seconds=30, path="/dashboard/stats")
    time = FakeTime()
    with pytest.raises(errors.RequestTimeout) as caught:
        await client(sandbox, time=time, timeout=0.05, retry=time.policy(max_attempts=2)).get(
            "/dashboard/stats"
        )
    assert sent(sandbox, "GET", "/dashboard/stats") == 2
    assert "within 0.05 s" in str(caught.value)


@pytest.mark.parametrize(
    ("kind", "options", "error"),
    [
        ("flat_error", {}, errors.AuthenticationError),
        ("malformed", {}, errors.MalformedResponse),
        ("status", {"status": 502}, errors.ServerError),
    ],
)
async def test_odd_answers_become_precise_errors(
    sandbox: Sandbox, kind: str, options: dict, error: type
) -> None:
    sandbox.faults.add(kind, path="/forms", **options)
    with pytest.raises(error):
        await client(sandbox).get("/forms")


async def test_a_bare_body_is_accepted(sandbox: Sandbox) -> None:
    sandbox.faults.add("no_envelope", path="/forms")
    data = await client(sandbox).get("/forms")
    assert len(data["forms"]) == len(sandbox.state["forms"])


async def test_roles_come_back_as_permission_errors_naming_the_role(sandbox: Sandbox) -> None:
    with pytest.raises(errors.PermissionDenied) as caught:
        await client(sandbox, "viewer").request("POST", "/numbers/search", json_body={"area_code": "813"})
    assert caught.value.required_role == "manager"
    assert sent(sandbox, "POST", "/numbers/search") == 1
