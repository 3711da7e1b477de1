"""The shared API client against the sandbox's injected faults (the same client the server uses)."""

from __future__ import annotations

import time

import pytest

from cs_mcp import errors
from cs_mcp.client import CallScalerClient, RetryPolicy
from cs_mcp.config import SANDBOX_BASE_URL
from cs_mcp.sandbox import SANDBOX_KEYS, Sandbox, SandboxTransport
from cs_mcp.secrets import Secret

pytestmark = pytest.mark.anyio
FAST = RetryPolicy(max_attempts=4, total_seconds=10, base_delay=0.01, max_delay=0.05)


def client(sandbox: Sandbox, role: str = "manager", **options: object) -> CallScalerClient:
    return CallScalerClient(
        Secret(SANDBOX_KEYS[role]),
        SANDBOX_BASE_URL,
        transport=SandboxTransport(sandbox),
        **{"retry": FAST, **options},  # type: ignore[arg-type]
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
    started = time.monotonic()
    await client(sandbox).get("/numbers/bulk-stats")
    assert time.monotonic() - started >= 1
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


async def test_a_slow_answer_times_out_within_bounds(sandbox: Sandbox) -> None:
    sandbox.faults.add("timeout", seconds=5, path="/dashboard/stats")
    started = time.monotonic()
    with pytest.raises(errors.RequestTimeout):
        await client(
            sandbox, timeout=0.2, retry=RetryPolicy(max_attempts=2, total_seconds=1, base_delay=0.01)
        ).get("/dashboard/stats")
    assert time.monotonic() - started < 2


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
