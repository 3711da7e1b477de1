"""The typed resource layer (cs_mcp/api/): paths, wrappings and shapes known once, and a wrong shape is
one clear error: MalformedResponse for a read, WriteOutcomeUnknown (never "not done") for a write.

The first half drives the resources through the real client over httpx.MockTransport, so each answer is
exact; the second runs tools against the sandbox with some answers rewritten into the other shapes the
docs show (or broken), to show the guardrails still see everything and still never report a write
that may have happened as not done.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.client import Client

import cs_mcp
from cs_mcp import catalogue, errors
from cs_mcp.api.models import Deleted, Released, Removed
from cs_mcp.client import CallScalerClient
from cs_mcp.config import Settings
from cs_mcp.guardrails import Guardrails
from cs_mcp.sandbox import Sandbox, SandboxTransport
from cs_mcp.secrets import Secret
from cs_mcp.server import build_server
from tests.conftest import call, confirmed, no_sleep
from tests.fake_time import FakeTime

pytestmark = pytest.mark.anyio

KEY = "cs_key_live_Q7zx93LmPw0vTt4Kd8Rj"  # random: a registered secret masks its 8-character runs everywhere
FLOW_ID = "0b9a3c1e-4d2f-4a6b-8c7d-9e0f1a2b3c4d"
OUTSIDE = "+12125550123"


def client_answering(*answers: httpx.Response) -> tuple[CallScalerClient, list[httpx.Request]]:
    """A client whose API plays `answers` in order (the last repeats), recording every request."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[min(len(seen), len(answers)) - 1]

    client = CallScalerClient(
        Secret(KEY),
        "http://api.test/api/v1",
        transport=httpx.MockTransport(handler),
        retry=FakeTime().policy(max_attempts=1),
    )
    return client, seen


def ok(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


NUMBERS = [
    {"id": "a1", "phone_number": "+18135550101", "name": "Yard signs", "sms_enabled": True},
    {"id": "a2", "phone_number": "+18135550102", "name": "Radio"},
    {"id": "a3", "phone_number": "+18135550103", "name": "radio"},
]


# --- Wrappings: the envelope, the resource's key, or none -------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"data": {"numbers": NUMBERS, "total": 3}},  # documented
        {"numbers": NUMBERS, "total": 3},  # a legacy bare body
        {"data": NUMBERS},  # a bare list
    ],
    ids=["enveloped", "legacy", "bare-list"],
)
async def test_a_collection_reads_the_same_however_it_is_wrapped(body: dict[str, Any]) -> None:
    client, seen = client_answering(ok(body))
    assert await client.numbers.list() == NUMBERS
    assert [(r.method, r.url.path) for r in seen] == [("GET", "/api/v1/numbers")]


async def test_one_number_is_found_by_id_phone_or_exact_name() -> None:
    client, seen = client_answering(ok({"data": {"numbers": NUMBERS}}))
    assert [n.id for n in await client.numbers.find("A1")] == ["a1"]
    assert [n.id for n in await client.numbers.find("(813) 555-0102")] == ["a2"]  # national, no +1
    assert [n.id for n in await client.numbers.find("+18135550103")] == ["a3"]
    assert [n.id for n in await client.numbers.find(" RADIO ")] == ["a2", "a3"]  # ambiguous: both
    assert await client.numbers.find("nothing like it") == []
    assert (await client.numbers.by_phone("+18135550101")).sms_enabled is True  # type: ignore[union-attr]
    assert await client.numbers.phones() == {n["phone_number"] for n in NUMBERS}
    assert {r.url.path for r in seen} == {"/api/v1/numbers"}  # no single-number endpoint is asked


async def test_an_offer_is_searched_in_its_area_code_by_its_other_digits() -> None:
    offer = {"phone_number": "+18885550123", "monthly_cost_cents": 200}
    client, seen = client_answering(ok({"data": {"numbers": [{"phone_number": "+18885550999"}, offer]}}))
    assert await client.numbers.offer("+18885550123") == offer
    assert json.loads(seen[0].content) == {
        "area_code": "888",
        "type": "toll_free",
        "contains": "5550123",
        "limit": 30,
    }
    assert await client.numbers.offer("+18885550124") is None


# --- The two documented shapes of a call flow ----------------------------------------------------------

CONFIG = {
    "steps": [
        {"type": "greeting", "message": "Hi"},
        {
            "type": "ivr",
            "options": {
                "1": {"label": "Sales", "steps": [{"type": "forward", "destination": "+18135550101"}]},
                "2": {
                    "label": "Out",
                    "steps": [{"type": "forward", "destination": OUTSIDE, "timeout_seconds": 20}],
                },
            },
        },
        {"type": "multi_ring", "destinations": ["+18135550102"]},
    ],
    "settings": {"recording": True, "press_1": False},
}


def forwards_ringing_number(value: Any) -> Any:
    """The other page's spelling: a forward step rings its `number`."""
    if isinstance(value, list):
        return [forwards_ringing_number(item) for item in value]
    if isinstance(value, dict):
        renamed = {
            ("number" if key == "destination" and value.get("type") == "forward" else key): item
            for key, item in value.items()
        }
        return {key: forwards_ringing_number(item) for key, item in renamed.items()}
    return value


def other_shape(flow: dict[str, Any], assigned: list[str]) -> dict[str, Any]:
    """A flow as the other documented page shows it (see callscaler-api.md, 2026-12-01)."""
    config = flow["config_json"]
    settings = {
        ("press1" if key == "press_1" else key): item for key, item in config.get("settings", {}).items()
    }
    return {
        "call_flow": {
            "id": flow["id"],
            "name": flow["name"],
            "steps": forwards_ringing_number(config["steps"]),
            "settings": settings,
            "version": flow["config_version"],
            "assigned_numbers": assigned,
            "created_at": "2026-01-15T08:00:00Z",
        }
    }


async def test_both_flow_shapes_read_as_one() -> None:
    documented = {
        "id": FLOW_ID,
        "name": "Main",
        "config_json": CONFIG,
        "config_version": 7,
        "number_count": 2,
    }
    other = other_shape(documented, ["+18135550101", "+18135550102"])
    assert '"destination"' not in json.dumps(other)  # the rewrite above really is the other spelling
    client, _ = client_answering(ok({"data": documented}), ok({"data": other}))
    first, second = await client.call_flows.get(FLOW_ID), await client.call_flows.get(FLOW_ID)
    assert first == second
    assert (second.config_version, second.number_count, second.config) == (7, 2, CONFIG)


async def test_a_flow_saved_with_a_bare_acknowledgement_is_read_back() -> None:
    client, seen = client_answering(
        ok({"data": {"id": FLOW_ID}}, 201),
        ok({"data": {"call_flow": {"id": FLOW_ID, "config_json": CONFIG}}}),
    )
    flow = await client.call_flows.create("Main", CONFIG)
    assert flow.config == CONFIG
    assert [(r.method, r.url.path) for r in seen] == [
        ("POST", "/api/v1/call-flows"),
        ("GET", f"/api/v1/call-flows/{FLOW_ID}"),
    ]


async def test_a_flow_change_answered_with_no_content_is_read_back() -> None:
    client, seen = client_answering(httpx.Response(204), ok({"data": {"id": FLOW_ID, "config_json": CONFIG}}))
    flow = await client.call_flows.update(FLOW_ID, name="Main", config_json=CONFIG, config_version=7)
    assert flow.config == CONFIG
    assert [r.method for r in seen] == ["PUT", "GET"]


async def test_a_saved_flow_that_cannot_be_read_back_is_an_unknown_outcome_not_a_failure() -> None:
    client, seen = client_answering(ok({"data": {"id": FLOW_ID}}, 201), httpx.Response(404))
    with pytest.raises(errors.WriteOutcomeUnknown, match=f"reading call flow {FLOW_ID} back failed"):
        await client.call_flows.create("Main", CONFIG)
    assert [r.method for r in seen] == ["POST", "GET"]  # sent once


# --- 204 No Content to a deletion ---------------------------------------------------------------------


async def test_a_deletion_answered_with_no_content_is_done() -> None:
    client, seen = client_answering(httpx.Response(204))
    assert await client.numbers.release("n1") == Released(released=True, id="n1")
    assert await client.call_flows.delete(FLOW_ID) == Deleted(deleted=True, id=FLOW_ID)
    assert await client.number_groups.delete("g1") == Removed(id="g1", deleted=True)
    assert [r.method for r in seen] == ["DELETE"] * 3


# --- A wrong shape: one clear error, and never "not done" for a write -----------------------------------


@pytest.mark.parametrize(
    ("read", "body", "says"),
    [
        (
            lambda c: c.numbers.list(),
            {"data": {"items": []}},
            "GET /numbers: CallScaler's answer holds no list of numbers",
        ),
        (
            lambda c: c.numbers.list(),
            {"data": {"numbers": ["+18135550101"]}},
            "holds something that is not an object",
        ),
        (
            lambda c: c.call_flows.get(FLOW_ID),
            {"data": {"call_flow": {"name": "no id"}}},
            "shape of a CallFlow",
        ),
        (
            lambda c: c.calls.transcription("c1"),
            {"transcription": ["not", "text"]},
            "transcription is not text",
        ),
        (lambda c: c.number_pools.get("p1"), {"data": {"id": "p1", "numbers": "all"}}, "pool's numbers"),
        (lambda c: c.voicemails.get("v1"), {"data": ["not", "an", "object"]}, "is not a voicemail object"),
    ],
)
async def test_a_read_of_the_wrong_shape_is_one_clear_error(
    read: Callable[[CallScalerClient], Any], body: Any, says: str
) -> None:
    client, _ = client_answering(ok(body))
    with pytest.raises(errors.MalformedResponse) as caught:
        await read(client)
    assert says in str(caught.value) and "report it if it persists" in str(caught.value)
    assert KEY not in str(caught.value)


async def test_a_write_answered_in_the_wrong_shape_may_have_happened() -> None:
    """Not MalformedResponse: the guardrails would take that for a refusal and free the cap slot."""
    client, seen = client_answering(ok({"data": {"number": {"name": "no id or phone"}}}, 201))
    with pytest.raises(errors.WriteOutcomeUnknown) as caught:
        await client.numbers.purchase("+18135550199", name=None, call_flow_id=None)
    assert "POST /numbers/purchase was sent" in str(caught.value) and "shape of a Number" in str(caught.value)
    assert len(seen) == 1 and json.loads(seen[0].content) == {"phone_number": "+18135550199"}


def test_the_resources_hold_the_key_only_inside_the_client() -> None:
    client, _ = client_answering(ok({}))
    for resource in (client.numbers, client.call_flows, client.texts, client.endpoints):
        assert KEY not in repr(resource) and KEY not in repr(vars(resource))


# --- Through the tools, against the sandbox --------------------------------------------------------------

Rewrite = Callable[[httpx.Request, httpx.Response], httpx.Response]


class Rewriting(httpx.AsyncBaseTransport):
    """The sandbox, with the answers to requests matching `method` and the path `pattern` rewritten."""

    def __init__(self, sandbox: Sandbox, method: str, pattern: str, rewrite: Rewrite) -> None:
        self.inner = SandboxTransport(sandbox)
        self.method, self.pattern, self.rewrite = method, re.compile(pattern), rewrite

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        path = request.url.path.split("/api/v1", 1)[-1]
        if request.method == self.method and self.pattern.fullmatch(path):
            return self.rewrite(request, response)
        return response


@asynccontextmanager
async def serve(transport: httpx.AsyncBaseTransport, role: str = "manager") -> AsyncIterator[Client]:
    settings = Settings.for_sandbox(role)
    server = build_server(settings, transport=transport, guardrails=Guardrails(settings, sleep=no_sleep))
    async with Client(server) as client:
        yield client


def in_other_shape(sandbox: Sandbox) -> Rewrite:
    def rewrite(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        flow = response.json()["data"]
        assigned = [n["phone_number"] for n in sandbox.state["numbers"] if n["call_flow_id"] == flow["id"]]
        return ok({"data": other_shape(flow, assigned)})

    return rewrite


async def test_get_call_flow_reads_the_other_shape_as_the_documented_one() -> None:
    sb = Sandbox()
    flow = next(f for f in sb.state["call_flows"] if f["name"] == "Main Sales Flow")
    arguments = {"call_flow_id": flow["id"], "include_config": True}
    async with serve(SandboxTransport(sb)) as client:
        documented = await call(client, "get_call_flow", **arguments)
    other = Rewriting(sb, "GET", r"/call-flows/[^/]+", in_other_shape(sb))
    async with serve(other) as client:
        assert await call(client, "get_call_flow", **arguments) == documented
        outline = await call(client, "get_call_flow", call_flow_id=flow["id"])
    assert outline["destinations"] and outline["number_count"] == documented["number_count"]


async def test_the_other_flow_shape_cannot_hide_an_outside_number_from_the_reroute_check() -> None:
    """A forward that rings its `number` (the other page's spelling) is still a destination: moving a
    number onto that flow is confirmed, and the preview names the outside number."""
    sb = Sandbox()
    number = sb.state["numbers"][0]
    target = next(f for f in sb.state["call_flows"] if f["id"] != number["call_flow_id"])
    nested = {
        "type": "ivr",
        "options": {"9": {"label": "Partner", "steps": [{"type": "forward", "destination": OUTSIDE}]}},
    }
    target["config_json"] = {**target["config_json"], "steps": [nested, *target["config_json"]["steps"]]}
    before = copy.deepcopy(sb.state["numbers"])
    async with serve(Rewriting(sb, "GET", r"/call-flows/[^/]+", in_other_shape(sb))) as client:
        answer = await call(client, "update_number", number_id=number["id"], call_flow_id=target["id"])
    assert answer["status"] == "needs_confirmation"
    assert OUTSIDE in answer["preview"]["details"]["new_outside_numbers"]
    assert sb.state["numbers"] == before and not sb.writes.matching()


async def test_a_malformed_number_list_is_a_clear_tool_error_not_no_match() -> None:
    sb = Sandbox()
    broken = Rewriting(sb, "GET", "/numbers", lambda request, response: ok({"data": {"items": []}}))
    async with serve(broken) as client:
        result = await client.call_tool("get_number", {"number": sb.state["numbers"][0]["id"]})
        sms = await client.call_tool(
            "send_sms",
            {"from_number": sb.state["numbers"][0]["phone_number"], "to_number": OUTSIDE, "body": "Hi"},
        )
    assert (
        result.is_error
        and "GET /numbers: CallScaler's answer holds no list of numbers" in result.content[0].text
    )
    assert "No number matches" not in result.content[0].text
    assert sms.is_error and "no list of numbers" in sms.content[0].text  # the sender check cannot pass blind
    assert not sb.writes.matching()


async def test_a_purchase_answered_in_the_wrong_shape_is_found_by_reconciliation_and_bought_once() -> None:
    sb = Sandbox()
    broken = Rewriting(
        sb, "POST", "/numbers/purchase", lambda request, response: ok({"data": {"ok": True}}, 201)
    )
    async with serve(broken) as client:
        phone = (await call(client, "search_available_numbers", area_code="813", limit=1))["numbers"][0][
            "phone_number"
        ]
        result = await confirmed(client, "purchase_number", phone_number=phone)
    assert result["phone_number"] == phone
    assert sb.writes.matching("POST", "/numbers/purchase") == 1


async def test_a_deletion_answered_in_the_wrong_shape_is_reported_unknown_not_failed() -> None:
    sb = Sandbox()
    group = sb.state["number_groups"][0]
    broken = Rewriting(
        sb, "DELETE", r"/number-groups/[^/]+", lambda request, response: ok({"data": {"deleted": "maybe"}})
    )
    async with serve(broken) as client:
        preview = await call(client, "delete_number_group", group_id=group["id"])
        result = await client.call_tool(
            "delete_number_group",
            {"group_id": group["id"], "confirmation_token": preview["confirmation_token"]},
        )
    assert result.is_error and "OUTCOME UNKNOWN" in result.content[0].text
    assert "try again" not in result.content[0].text.lower()
    assert sb.writes.matching("DELETE", f"/number-groups/{group['id']}") == 1


async def test_a_release_answered_with_no_content_is_done() -> None:
    sb = Sandbox()
    number = sb.state["numbers"][0]
    no_content = Rewriting(sb, "DELETE", r"/numbers/[^/]+", lambda request, response: httpx.Response(204))
    async with serve(no_content) as client:
        result = await confirmed(client, "release_number", number_id=number["id"])
    assert result == {"released": True, "id": number["id"]}
    assert all(n["id"] != number["id"] for n in sb.state["numbers"])


# --- Nothing above the layer talks to the transport or writes an API path --------------------------------

PACKAGE = Path(cs_mcp.__file__).parent
ABOVE_THE_LAYER = sorted(
    [
        *(PACKAGE / "toolsets").glob("*.py"),
        *(PACKAGE / name for name in ("handlers.py", "routing.py", "resources.py")),
    ]
)
TRANSPORT_METHODS = frozenset({"get", "get_raw", "request"})


def _api_roots() -> set[str]:
    """The first segment of every documented path in the catalogue: `/numbers`, `/call-flows`, ..."""
    return {"/" + spec.path.strip("/").split("/")[0] for spec in catalogue.load() if spec.path}


def going_around_the_layer(source: str) -> list[str]:
    """Requests sent on the client itself (`call.api.get(...)`), and API paths spelt out, in `source`."""
    roots = re.compile("^(" + "|".join(map(re.escape, _api_roots())) + r")(/|$|\?)")
    problems = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in TRANSPORT_METHODS
            and isinstance(node.func.value, ast.Attribute | ast.Name)
            and getattr(node.func.value, "attr", getattr(node.func.value, "id", None)) == "api"
        ):
            problems.append(f"line {node.lineno}: {ast.unparse(node.func)}()")
        # An f-string's literal parts are Constants too, so f"/numbers/{id}" is caught.
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and roots.match(node.value):
            problems.append(f"line {node.lineno}: the path {node.value!r}")
    return problems


@pytest.mark.parametrize("path", ABOVE_THE_LAYER, ids=lambda p: p.name)
def test_no_module_above_the_layer_sends_requests_or_spells_paths(path: Path) -> None:
    problems = going_around_the_layer(path.read_text(encoding="utf-8"))
    assert not problems, f"{path.name} goes around cs_mcp/api: " + "; ".join(problems)


def test_the_layer_check_can_fail() -> None:
    source = 'async def f(call, ctx):\n    await call.api.get(f"/numbers/{1}")\n    await ctx.api.request("POST", "/texts")'
    assert sorted(going_around_the_layer(source)) == [
        "line 2: call.api.get()",
        "line 2: the path '/numbers/'",
        "line 3: ctx.api.request()",
        "line 3: the path '/texts'",
    ]
    assert going_around_the_layer('await call.api.numbers.list()\nname = "/not-an-api-path"') == []
