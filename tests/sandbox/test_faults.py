"""Fault injection seen through httpx in-process: every kind, the limits, the spec syntax, the log."""

from __future__ import annotations

import json
import time
from typing import Any, NamedTuple

import anyio
import httpx
import pytest

from cs_mcp.sandbox import SANDBOX_KEYS, FaultInjector, Sandbox, SandboxTransport
from cs_mcp.sandbox.faults import Fault

from .conftest import BASE_URL, NOW, Api

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
    async with client(sb, timeout=0.2) as c:  # the fault holds 5 s: only the client's timeout ends it
        with pytest.raises(httpx.ReadTimeout):
            await c.post("/numbers/purchase", json={"phone_number": candidate["phone_number"]})
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
     "status=500:prob=2", "status=500:colour=red", "status=500:times",
     # a phase the kind cannot have
     "drop:when=before", "malformed:when=before", "latency=5ms:when=after", "refuse:when=after", "refuse=3",
     "status=500:when=later"],
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


# --- The six faults a write must survive (issue 16's fault matrix), on every kind of write.


class Write(NamedTuple):
    """A write, how to send it against a fresh sandbox, and the state list it grows or shrinks."""

    name: str
    method: str
    path: str
    body: dict[str, Any] | None
    collection: str
    change: int  # +1 creates an item, -1 removes one


def writes_on(sb: Sandbox) -> list[Write]:
    state = sb.state
    sender = next(n["phone_number"] for n in state["numbers"] if n["sms_enabled"])
    in_use = {n["call_flow_id"] for n in state["numbers"]} | {
        p["call_flow_id"] for p in state["number_pools"]
    }
    idle_flow = next(f for f in state["call_flows"] if f["id"] not in in_use)
    return [
        Write("purchase_number", "POST", "/numbers/purchase", {"phone_number": "+18132340000"}, "numbers", +1),
        Write("send_sms", "POST", "/texts", {"from_number": sender, "to_number": "+14155550123", "body": "hi"}, "texts", +1),
        Write("create_call_flow", "POST", "/call-flows", {"name": "New", "config_json": idle_flow["config_json"]}, "call_flows", +1),
        Write("release_number", "DELETE", f"/numbers/{state['numbers'][0]['id']}", None, "numbers", -1),
        Write("delete_call_flow", "DELETE", f"/call-flows/{idle_flow['id']}", None, "call_flows", -1),
        Write("delete_number_group", "DELETE", f"/number-groups/{state['number_groups'][0]['id']}", None, "number_groups", -1),
    ]  # fmt: skip


WRITE_NAMES = [w.name for w in writes_on(Sandbox(now=NOW))]
# spec, whether the API acted, and what the client gets
SIX_FAULTS = [
    ("status=429", False, 429),
    ("status=500", False, 500),
    ("status=500:when=after", True, 500),
    ("malformed", True, json.JSONDecodeError),
    ("timeout=5s:when=after", True, httpx.ReadTimeout),
    ("refuse", False, httpx.ConnectError),
]


async def purchasable(sb: Sandbox) -> str:
    async with client(sb) as c:
        found = await c.post("/numbers/search", json={"area_code": "813", "limit": 1})
    return str(found.json()["data"]["numbers"][0]["phone_number"])


@pytest.mark.parametrize(("spec", "acted", "outcome"), SIX_FAULTS, ids=[f[0] for f in SIX_FAULTS])
@pytest.mark.parametrize("name", WRITE_NAMES)
async def test_each_write_under_each_fault_is_applied_exactly_when_the_api_acted(
    name: str, spec: str, acted: bool, outcome: int | type[Exception]
) -> None:
    sb = Sandbox(now=NOW)
    write = next(w for w in writes_on(sb) if w.name == name)
    body = {**write.body, "phone_number": await purchasable(sb)} if name == "purchase_number" else write.body
    sb.faults.add_spec(f"{spec}:method={write.method}:path={write.path}")
    before = len(sb.state[write.collection])  # type: ignore[literal-required]
    received = len(sb.requests)
    async with client(sb, timeout=0.05) as c:
        if isinstance(outcome, int):
            assert (await c.request(write.method, write.path, json=body)).status_code == outcome
        elif outcome is json.JSONDecodeError:
            response = await c.request(write.method, write.path, json=body)
            assert response.is_success
            with pytest.raises(json.JSONDecodeError):
                response.json()
        else:
            with pytest.raises(outcome):
                await c.request(write.method, write.path, json=body)
    assert len(sb.state[write.collection]) == before + (write.change if acted else 0)  # type: ignore[literal-required]
    assert list(sb.writes) == ([(write.method, write.path, "manager")] if acted else [])
    assert len(sb.requests) - received == (0 if outcome is httpx.ConnectError else 1)  # refused: never sent
    assert sb.faults.faults[0].fired == 1


# --- Phases, refusals and the writes log, one at a time.


async def test_refuse_is_a_connect_error_and_nothing_reaches_the_api(sb: Sandbox) -> None:
    sb.faults.add("refuse", method="POST", times=1)
    async with client(sb) as c:
        with pytest.raises(httpx.ConnectError):
            await c.post("/number-groups", json={"name": "Refused"})
        assert (await c.get("/number-groups")).status_code == 200  # reads pass; the fault is used up
        created = await c.post("/number-groups", json={"name": "Refused"})
    assert created.status_code == 201  # nothing was applied the first time, so no 409 for the name
    assert [tuple(r)[:2] for r in sb.requests] == [("GET", "/number-groups"), ("POST", "/number-groups")]
    assert sb.writes.matching("POST", "/number-groups") == 1


async def test_a_status_after_acting_applies_the_write_then_answers_the_error(sb: Sandbox) -> None:
    sb.faults.add("status", status=503, when="after", path="/number-groups")
    async with client(sb) as c:
        response = await c.post("/number-groups", json={"name": "Applied anyway"})
    assert response.status_code == 503 and response.json()["error"]["code"] == "503"
    assert sb.state["number_groups"][-1]["name"] == "Applied anyway"


async def test_a_flat_error_after_acting_applies_the_write(sb: Sandbox) -> None:
    sb.faults.add("flat_error", status=500, when="after", path="/number-groups")
    async with client(sb) as c:
        response = await c.post("/number-groups", json={"name": "Flat"})
    assert response.json() == {"error": "internal_server_error"}
    assert sb.state["number_groups"][-1]["name"] == "Flat" and len(sb.writes) == 1


async def test_a_timeout_after_acting_still_answers_a_patient_client(sb: Sandbox) -> None:
    sb.faults.add_spec("timeout=10ms:when=after:path=/number-groups")
    async with client(sb) as c:
        response = await c.post("/number-groups", json={"name": "Late"})
    assert response.status_code == 201 and response.json()["data"]["name"] == "Late"


async def test_a_refused_write_and_a_failed_write_are_not_applied_writes(sb: Sandbox) -> None:
    async with client(sb) as c:
        assert (
            await c.post("/number-groups", json={"name": sb.state["number_groups"][0]["name"]})
        ).status_code == 409
        assert (await c.post("/numbers/search", json={"area_code": "813"})).status_code == 200
        assert (await c.get("/numbers")).status_code == 200
        assert (
            await c.put(f"/number-groups/{sb.state['number_groups'][0]['id']}", json={"name": "Renamed"})
        ).status_code == 200
    assert list(sb.writes) == [("PUT", f"/number-groups/{sb.state['number_groups'][0]['id']}", "manager")]
    assert len(sb.requests) == 4 and sb.writes.matching(path="/number-groups/*") == 1
    assert sb.writes.matching("POST") == 0


async def test_a_client_that_hangs_up_during_a_timeout_before_acting_leaves_nothing_applied(
    sb: Sandbox,
) -> None:
    """Over a socket the server notices the hang-up while it holds the request, and drops it."""
    sb.faults.add("timeout", seconds=30, method="POST")
    messages = [
        {"type": "http.request", "body": b'{"name": "Never"}', "more_body": False},
        {"type": "http.disconnect"},
    ]
    answered: list[Any] = []

    async def receive() -> Any:
        return messages.pop(0)

    async def send(message: Any) -> None:
        answered.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/number-groups",
        "query_string": b"",
        "headers": [
            (b"authorization", f"Bearer {SANDBOX_KEYS['manager']}".encode()),
            (b"content-type", b"application/json"),
        ],
    }
    with anyio.fail_after(5):  # the old layer slept the full 30 s, then created the group
        await sb.app(scope, receive, send)
    assert answered == [] and not sb.writes
    assert all(g["name"] != "Never" for g in sb.state["number_groups"])


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("status=500:when=after", Fault("status", 500, when="after")),
        ("timeout=5s:when=AFTER:method=post", Fault("timeout", seconds=5, method="POST", when="after")),
        ("refuse:method=POST:path=/texts", Fault("refuse", method="POST", path="/texts")),
        ("flat_error:when=after", Fault("flat_error", 401, when="after")),
    ],
)
def test_spec_syntax_for_phases_and_refusals(spec: str, expected: Fault) -> None:
    fault = FaultInjector.parse(spec)
    assert fault == expected and fault.when == expected.when


@pytest.mark.parametrize(
    ("kind", "when"), [("status", "before"), ("refuse", "before"), ("latency", "before"), ("drop", "after"),
                       ("malformed", "after"), ("no_envelope", "after"), ("timeout", "before")]
)  # fmt: skip
def test_each_kind_says_when_it_strikes(kind: str, when: str) -> None:
    assert Fault(kind, status=500 if kind == "status" else None).when == when


async def test_control_endpoint_takes_phases_and_reports_writes(sb: Sandbox) -> None:
    async with httpx.AsyncClient(transport=SandboxTransport(sb), base_url="http://sandbox.invalid") as c:
        added = await c.post("/_sandbox/faults", json=[{"kind": "status", "status": 500, "when": "after"}])
        assert added.status_code == 201 and added.json()["faults"][0]["when"] == "after"
        assert (await c.post("/_sandbox/faults", json={"kind": "drop", "when": "before"})).status_code == 422
        headers = {"Authorization": f"Bearer {SANDBOX_KEYS['manager']}"}
        assert (
            await c.post("/api/v1/number-groups", headers=headers, json={"name": "Ctl"})
        ).status_code == 500
        log = (await c.get("/_sandbox/requests")).json()
    assert log["writes"] == [{"method": "POST", "path": "/number-groups", "role": "manager"}]
    assert log["write_counts"] == {"POST /number-groups": 1} and log["counts"] == {"POST /number-groups": 1}


# --- Variants: another documented form of an answer, switched on like a fault.


async def flow_keys(c: httpx.AsyncClient, flow_id: str) -> set[str]:
    response = await c.get(f"/call-flows/{flow_id}")
    assert response.status_code == 200, response.text
    return set(response.json()["data"])


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("flow_shape=alternate", Fault("flow_shape", shape="alternate", path="/call-flows*", when="after")),
        ("flow_shape", Fault("flow_shape", shape="alternate", path="/call-flows*")),
        ("flow_shape=documented:times=2",
         Fault("flow_shape", shape="documented", path="/call-flows*", times=2)),
        ("flow_shape:path=/call-flows/*:prob=0.5",
         Fault("flow_shape", path="/call-flows/*", probability=0.5)),
    ],
)  # fmt: skip
def test_variant_spec_syntax(spec: str, expected: Fault) -> None:
    fault = FaultInjector.parse(spec)
    assert fault == expected and (fault.shape, fault.when) == (expected.shape or "alternate", "after")


@pytest.mark.parametrize(
    "spec", ["flow_shape=sideways", "flow_shape:when=before", "flow_shape=alternate:times=0"]
)
def test_bad_variant_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        FaultInjector.parse(spec)


async def test_a_variant_combines_with_latency_and_a_fault_and_can_run_out(sb: Sandbox) -> None:
    flow_id = sb.state["call_flows"][0]["id"]
    sb.faults.add_spec("status=503:times=1")
    sb.faults.add_spec("flow_shape=alternate:times=2")
    sb.faults.add_spec("latency=1ms")
    async with client(sb) as c:
        assert (await c.get(f"/call-flows/{flow_id}")).status_code == 503  # the variant also fired
        assert await flow_keys(c, flow_id) == {"call_flow"}
        assert "config_json" in await flow_keys(c, flow_id)  # used up after two requests
        assert (await c.get("/numbers")).status_code == 200
    assert [f.fired for f in sb.faults.faults] == [1, 2, 4]  # the variant only counts flow requests


async def test_the_first_matching_variant_wins(sb: Sandbox) -> None:
    flows = sb.state["call_flows"]
    sb.faults.add("flow_shape", shape="documented", path=f"/call-flows/{flows[0]['id']}")
    sb.faults.add("flow_shape")
    async with client(sb) as c:
        assert "config_json" in await flow_keys(c, flows[0]["id"])
        assert await flow_keys(c, flows[1]["id"]) == {"call_flow"}


async def test_control_endpoint_switches_a_variant(sb: Sandbox) -> None:
    flow_id = sb.state["call_flows"][0]["id"]
    headers = {"Authorization": f"Bearer {SANDBOX_KEYS['viewer']}"}
    async with httpx.AsyncClient(transport=SandboxTransport(sb), base_url="http://sandbox.invalid") as c:
        added = await c.post("/_sandbox/faults", json={"kind": "flow_shape", "shape": "alternate"})
        assert added.status_code == 201
        assert {k: added.json()["faults"][0][k] for k in ("kind", "shape", "path")} == {
            "kind": "flow_shape", "shape": "alternate", "path": "/call-flows*",
        }  # fmt: skip
        assert (
            await c.post("/_sandbox/faults", json={"kind": "flow_shape", "shape": "x"})
        ).status_code == 422
        flow = await c.get(f"/api/v1/call-flows/{flow_id}", headers=headers)
        assert set(flow.json()["data"]) == {"call_flow"}
        await c.delete("/_sandbox/faults")
        assert (await c.post("/_sandbox/faults", json={"spec": "flow_shape=alternate"})).status_code == 201
        flow = await c.get(f"/api/v1/call-flows/{flow_id}", headers=headers)
        assert set(flow.json()["data"]) == {"call_flow"}
