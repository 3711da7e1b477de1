"""Fault injection seen through httpx in-process: every kind, the limits, the spec syntax, the log."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from cs_mcp.sandbox import SANDBOX_KEYS, FaultInjector, Sandbox, SandboxTransport
from cs_mcp.sandbox.faults import Fault

from .conftest import BASE_URL, Api

pytestmark = pytest.mark.anyio


def client(sb: Sandbox, timeout: float | None = 5.0) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {SANDBOX_KEYS['manager']}"}
    return httpx.AsyncClient(
        transport=SandboxTransport(sb), base_url=BASE_URL, headers=headers, timeout=timeout
    )


async def test_latency_delays_only_matching_requests(sb: Sandbox) -> None:
    sb.faults.add("latency", ms=150, path="/numbers*")
    async with client(sb) as c:
        started = time.perf_counter()
        assert (await c.get("/numbers")).status_code == 200
        assert time.perf_counter() - started >= 0.15
    assert sb.faults.faults[0].fired == 1


async def test_status_fault_fires_n_times_then_stops(sb: Sandbox) -> None:
    sb.faults.add("status", status=503, times=2, path="/numbers*")
    async with client(sb) as c:
        assert (await c.get("/call-flows")).status_code == 200  # another path: untouched
        answers = [await c.get("/numbers/bulk-stats") for _ in range(3)]
    assert [r.status_code for r in answers] == [503, 503, 200]
    assert answers[0].json() == {"error": {"code": "503", "message": "Service Unavailable"}}
    assert sb.faults.count("GET", "/numbers*") == 3  # faulted requests are logged too


@pytest.mark.parametrize(("options", "retry_after"), [({}, "1"), ({"retry_after": 7}, "7")])
async def test_rate_limit_sends_retry_after(sb: Sandbox, options: dict[str, Any], retry_after: str) -> None:
    sb.faults.add("status", status=429, **options)
    async with client(sb) as c:
        response = await c.get("/numbers")
    assert response.status_code == 429 and response.headers["retry-after"] == retry_after
    assert response.json()["error"] == {"code": "429", "message": "Rate limit exceeded"}


async def test_bad_gateway_is_an_html_page(sb: Sandbox) -> None:
    sb.faults.add("status", status=502)
    async with client(sb) as c:
        response = await c.get("/numbers")
    assert response.status_code == 502 and response.headers["content-type"].startswith("text/html")
    assert "502 Bad Gateway" in response.text
    with pytest.raises(json.JSONDecodeError):
        response.json()


@pytest.mark.parametrize("status", [500, 504])
async def test_server_errors_use_the_envelope(sb: Sandbox, status: int) -> None:
    sb.faults.add("status", status=status)
    async with client(sb) as c:
        response = await c.get("/numbers")
    assert response.status_code == status and response.json()["error"]["code"] == str(status)


async def test_status_faults_never_reach_the_api(sb: Sandbox) -> None:
    sb.faults.add("status", status=500, method="POST")
    before = len(sb.state["call_flows"])
    async with client(sb) as c:
        response = await c.post("/call-flows", json={"name": "x", "config_json": {"steps": []}})
    assert response.status_code == 500 and len(sb.state["call_flows"]) == before


async def test_flat_error_form(sb: Sandbox) -> None:
    sb.faults.add("flat_error")
    sb.faults.add("flat_error", status=403, path="/texts")
    async with client(sb) as c:
        assert (await c.get("/texts")).json() == {"error": "unauthorized"}  # the first matching fault wins
        sb.faults.faults.pop(0)
        response = await c.get("/texts")
    assert response.status_code == 403 and response.json() == {"error": "forbidden"}


async def test_timeout_honours_the_client_read_timeout_and_changes_nothing(sb: Sandbox, api: Api) -> None:
    sb.faults.add("timeout", seconds=5, method="POST", path="/numbers/purchase")
    candidate = (await api.data("POST", "/numbers/search", json={"area_code": "813", "limit": 1}))["numbers"][
        0
    ]
    before = len(sb.state["numbers"])
    started = time.perf_counter()
    async with client(sb, timeout=0.2) as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.post("/numbers/purchase", json={"phone_number": candidate["phone_number"]})
    assert time.perf_counter() - started < 2
    assert len(sb.state["numbers"]) == before


async def test_a_short_timeout_fault_still_answers(sb: Sandbox) -> None:
    sb.faults.add_spec("timeout=50ms")
    async with client(sb) as c:
        started = time.perf_counter()
        assert (await c.get("/forms")).status_code == 200
    assert time.perf_counter() - started >= 0.05


async def test_drop_breaks_the_connection_after_the_api_acted(sb: Sandbox) -> None:
    sender = next(n["phone_number"] for n in sb.state["numbers"] if n["sms_enabled"])
    sb.faults.add("drop", method="POST", path="/texts")
    before = len(sb.state["texts"])
    async with client(sb) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            await c.post("/texts", json={"from_number": sender, "to_number": "+14155550123", "body": "hi"})
        assert (
            await c.get("/texts", params={"contact": "+14155550123"})
        ).status_code == 200  # GET unaffected
    assert len(sb.state["texts"]) == before + 1  # the SMS went out: a blind retry would send it twice
    assert sb.faults.counts()[("POST", "/texts")] == 1


async def test_malformed_body_is_invalid_json_with_200(sb: Sandbox) -> None:
    sb.faults.add("malformed", path="/call-flows")
    async with client(sb) as c:
        response = await c.get("/call-flows")
    assert response.status_code == 200 and response.text.startswith('{"data":')
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_no_envelope_answers_the_bare_data(sb: Sandbox) -> None:
    sb.faults.add("no_envelope")
    async with client(sb) as c:
        response = await c.get("/number-groups")
        errors = await c.get("/number-groups/not-an-id/members")
    assert response.status_code == 200
    body = response.json()
    assert "data" not in body and body["total"] == len(sb.state["number_groups"])
    assert errors.status_code == 404 and "error" in errors.json()  # errors keep their shape


async def test_probability_is_deterministic(sb: Sandbox) -> None:
    async def statuses(sandbox: Sandbox) -> list[int]:
        sandbox.faults.add_spec("status=500:prob=0.5")
        async with client(sandbox) as c:
            return [(await c.get("/forms")).status_code for _ in range(20)]

    first = await statuses(sb)
    assert 3 <= first.count(500) <= 17
    assert await statuses(Sandbox(now=sb.now)) == first


async def test_clear_removes_every_fault(sb: Sandbox) -> None:
    sb.faults.add("status", status=503)
    sb.faults.add("latency", ms=5)
    sb.faults.clear()
    async with client(sb) as c:
        assert (await c.get("/numbers")).status_code == 200


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("latency=20ms", Fault("latency", ms=20)),
        ("latency=1.5s:path=/calls*", Fault("latency", ms=1500, path="/calls*")),
        ("timeout", Fault("timeout", seconds=30)),
        ("timeout=500ms:method=post", Fault("timeout", seconds=0.5, method="POST")),
        (
            "status=429:retry_after=1:times=3:path=/numbers*",
            Fault("status", 429, retry_after=1, times=3, path="/numbers*"),
        ),
        ("status=503:prob=0.25", Fault("status", 503, probability=0.25)),
        ("drop:method=POST:path=/texts", Fault("drop", method="POST", path="/texts")),
        ("malformed", Fault("malformed")),
        ("no_envelope:times=1", Fault("no_envelope", times=1)),
        ("flat_error", Fault("flat_error", 401)),
    ],
)
def test_spec_syntax(spec: str, expected: Fault) -> None:
    assert FaultInjector.parse(spec) == expected


@pytest.mark.parametrize(
    "spec",
    ["explode", "status", "status=200", "status=abc", "drop=5", "latency=fast", "status=500:times=0",
     "status=500:prob=2", "status=500:colour=red", "status=500:times"],
)  # fmt: skip
def test_bad_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        FaultInjector.parse(spec)


async def test_control_endpoints_in_process(sb: Sandbox) -> None:
    async with httpx.AsyncClient(transport=SandboxTransport(sb), base_url="http://sandbox.invalid") as c:
        added = await c.post(
            "/_sandbox/faults", json=[{"kind": "status", "status": 503, "times": 1}, {"spec": "latency=1ms"}]
        )
        assert added.status_code == 201 and [f["kind"] for f in added.json()["faults"]] == [
            "status",
            "latency",
        ]
        assert (await c.post("/_sandbox/faults", json={"kind": "nope"})).status_code == 422
        assert (await c.post("/_sandbox/faults", json=["status=503"])).status_code == 422
        assert (
            await c.get("/api/v1/numbers", headers={"Authorization": "Bearer cs_key_sandbox_viewer"})
        ).status_code == 503
        assert (await c.get("/api/v1/numbers")).status_code == 401
        log = (await c.get("/_sandbox/requests")).json()
        assert log["counts"] == {"GET /numbers": 2}
        assert log["requests"][0] == {"method": "GET", "path": "/numbers", "role": "viewer"}
        assert (await c.get("/_sandbox/faults")).json()["faults"][0]["fired"] == 1
        assert (await c.delete("/_sandbox/faults")).json() == {"faults": []}
    assert not sb.faults.faults
