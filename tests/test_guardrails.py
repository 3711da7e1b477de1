"""Confirmation that cannot be bypassed, through real MCP clients in both protocol eras.

Clients: one that supports elicitation and accepts, one that declines, one that cancels, one without
elicitation (token mode). Every test checks what reached the sandbox API and what changed in its state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
from mcp.client import Client
from mcp_types import ElicitResult, InputRequiredResult

from cs_mcp.config import ConfirmMode, Settings
from cs_mcp.guardrails import TOKEN_TTL_SECONDS, Guardrails
from cs_mcp.sandbox import Sandbox, SandboxTransport
from cs_mcp.server import build_server
from tests.conftest import call, call_error, confirmed, no_sleep

ERAS = ["legacy", "auto"]  # 2025-11-25 (initialize handshake) and 2026-07-28 (the SDK's default)


class FakeClock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class Answers:
    """An elicitation callback that records each question and answers with a fixed action."""

    def __init__(self, action: str) -> None:
        self.action = action
        self.questions: list[str] = []

    async def __call__(self, context: Any, params: Any) -> ElicitResult:
        self.questions.append(params.message)
        content = {"confirm": True} if self.action == "accept" else None
        return ElicitResult(action=self.action, content=content)  # type: ignore[arg-type]


@asynccontextmanager
async def open_client(
    sandbox: Sandbox,
    *,
    mode: str = "auto",
    answers: Answers | None = None,
    guardrails: Guardrails | None = None,
    settings: Settings | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    **overrides: Any,
) -> AsyncIterator[Client]:
    settings = settings or Settings.for_sandbox("manager", **overrides)
    guardrails = guardrails or Guardrails(settings, sleep=no_sleep)
    server = build_server(settings, transport=transport or SandboxTransport(sandbox), guardrails=guardrails)
    options: dict[str, Any] = {"mode": mode}
    if answers is not None:
        options["elicitation_callback"] = answers
    async with Client(server, **options) as client:
        yield client


def sent(sandbox: Sandbox, method: str, path_part: str) -> int:
    """How many requests with this method, whose path contains `path_part`, reached the API."""
    return sum(1 for r in sandbox.requests if r.method == method and path_part in r.path)


def a_number(sandbox: Sandbox, *, attached: bool = True) -> dict[str, Any]:
    """A seeded number (with a call flow, by default) to release."""
    return next(n for n in sandbox.state["numbers"] if bool(n.get("call_flow_id")) == attached)


def owned(sandbox: Sandbox, number_id: str) -> bool:
    return any(n["id"] == number_id for n in sandbox.state["numbers"])


async def an_available(client: Client, area_code: str = "813") -> str:
    found = await call(client, "search_available_numbers", area_code=area_code, limit=5)
    return found["numbers"][0]["phone_number"]


# ------------------------------------------------------------------------------------------- elicitation


@pytest.mark.anyio
@pytest.mark.parametrize("era", ERAS)
async def test_accepted_elicitation_releases_once_and_says_what_it_does(sandbox: Sandbox, era: str) -> None:
    number = a_number(sandbox)
    answers = Answers("accept")
    async with open_client(sandbox, mode=era, answers=answers) as client:
        answer = await call(client, "release_number", number_id=number["id"])
    assert answer["status"] == "done"
    assert answer["result"]["released"] is True
    assert not owned(sandbox, number["id"])
    assert sent(sandbox, "DELETE", "/numbers/") == 1
    assert len(answers.questions) == 1
    question = answers.questions[0]
    flow = next(f["name"] for f in sandbox.state["call_flows"] if f["id"] == number["call_flow_id"])
    for fact in (number["phone_number"], number["name"], flow, "calls last 30 days"):
        assert str(fact) in question
    assert "cannot be undone" in question


@pytest.mark.anyio
@pytest.mark.parametrize("era", ERAS)
async def test_accepted_elicitation_buys_once_with_monthly_cost(sandbox: Sandbox, era: str) -> None:
    answers = Answers("accept")
    async with open_client(sandbox, mode=era, answers=answers) as client:
        phone = await an_available(client)
        before = len(sandbox.state["numbers"])
        answer = await call(client, "purchase_number", phone_number=phone, name="Spring promo")
    assert answer["status"] == "done"
    assert answer["result"]["phone_number"] == phone
    assert sent(sandbox, "POST", "/numbers/purchase") == 1
    assert len(sandbox.state["numbers"]) == before + 1
    assert phone in answers.questions[0] and "USD per month" in answers.questions[0]


@pytest.mark.anyio
@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_declined_or_cancelled_elicitation_changes_nothing(
    sandbox: Sandbox, era: str, action: str
) -> None:
    number = a_number(sandbox)
    answers = Answers(action)
    async with open_client(sandbox, mode=era, answers=answers) as client:
        answer = await call(client, "release_number", number_id=number["id"])
        phone = await an_available(client)
        bought = await call(client, "purchase_number", phone_number=phone)
    assert answer["status"] == bought["status"] == "declined"
    assert f"user {action}" in answer["message"] and "nothing was done" in answer["message"]
    assert owned(sandbox, number["id"])
    assert sent(sandbox, "DELETE", "/numbers/") == 0
    assert sent(sandbox, "POST", "/numbers/purchase") == 0
    assert len(answers.questions) == 2


@pytest.mark.anyio
async def test_replayed_final_round_asks_again_instead_of_acting_twice(sandbox: Sandbox) -> None:
    """2026-07-28: a client that resends the accepted round (a retry after a timeout) cannot send twice."""
    sender = next(n["phone_number"] for n in sandbox.state["numbers"] if n.get("sms_enabled"))
    arguments = {"from_number": sender, "to_number": "+15125550199", "body": "Your tech arrives at 3pm"}
    async with open_client(sandbox, answers=Answers("accept")) as client:
        first = await client.session.call_tool("send_sms", arguments, allow_input_required=True)
        assert isinstance(first, InputRequiredResult)
        (key,) = first.input_requests
        accepted = {key: ElicitResult(action="accept", content={"confirm": True})}
        resend = {"input_responses": accepted, "request_state": first.request_state}
        done = await client.session.call_tool("send_sms", arguments, **resend, allow_input_required=True)
        assert not isinstance(done, InputRequiredResult) and done.structured_content["status"] == "done"
        replay = await client.session.call_tool("send_sms", arguments, **resend, allow_input_required=True)
    assert isinstance(replay, InputRequiredResult)  # asked again, with a new reference
    assert replay.input_requests[key].params.message != first.input_requests[key].params.message
    assert sent(sandbox, "POST", "/texts") == 1


@pytest.mark.anyio
async def test_elicit_mode_refuses_a_client_without_elicitation(sandbox: Sandbox) -> None:
    number = a_number(sandbox)
    async with open_client(sandbox, confirm_mode=ConfirmMode.ELICIT) as client:
        error = await call_error(client, "release_number", number_id=number["id"])
    assert "does not support form elicitation" in error and "Nothing was done" in error
    assert owned(sandbox, number["id"]) and sent(sandbox, "DELETE", "/numbers/") == 0


@pytest.mark.anyio
async def test_token_mode_never_asks_even_a_client_that_could(sandbox: Sandbox) -> None:
    number = a_number(sandbox)
    answers = Answers("accept")
    async with open_client(sandbox, answers=answers, confirm_mode=ConfirmMode.TOKEN) as client:
        preview = await call(client, "release_number", number_id=number["id"])
        assert preview["status"] == "needs_confirmation" and owned(sandbox, number["id"])
        await call(
            client, "release_number", number_id=number["id"], confirmation_token=preview["confirmation_token"]
        )
    assert answers.questions == [] and not owned(sandbox, number["id"])


@pytest.mark.anyio
async def test_target_changed_while_the_user_decided_is_refused(sandbox: Sandbox) -> None:
    number = a_number(sandbox)

    async def rename_then_accept(context: Any, params: Any) -> ElicitResult:
        number_record = next(n for n in sandbox.state["numbers"] if n["id"] == number["id"])
        number_record["name"] = "Renamed meanwhile"
        return ElicitResult(action="accept", content={"confirm": True})

    server = build_server(Settings.for_sandbox("manager"), transport=SandboxTransport(sandbox))
    async with Client(server, mode="legacy", elicitation_callback=rename_then_accept) as client:
        error = await call_error(client, "release_number", number_id=number["id"])
    assert "changed" in error and "Renamed meanwhile" in error
    assert owned(sandbox, number["id"]) and sent(sandbox, "DELETE", "/numbers/") == 0


# ------------------------------------------------------------------------------------------- tokens


@pytest.mark.anyio
@pytest.mark.parametrize("era", ERAS)
async def test_without_elicitation_the_first_call_only_previews(sandbox: Sandbox, era: str) -> None:
    number = a_number(sandbox)
    async with open_client(sandbox, mode=era) as client:
        preview = await call(client, "release_number", number_id=number["id"])
        assert preview["status"] == "needs_confirmation"
        assert preview["preview"]["irreversible"] is True
        assert owned(sandbox, number["id"]) and sent(sandbox, "DELETE", "/numbers/") == 0
        done = await call(
            client, "release_number", number_id=number["id"], confirmation_token=preview["confirmation_token"]
        )
        again = await call_error(
            client, "release_number", number_id=number["id"], confirmation_token=preview["confirmation_token"]
        )
    assert done["status"] == "done" and not owned(sandbox, number["id"])
    assert "not valid" in again
    assert sent(sandbox, "DELETE", "/numbers/") == 1


@pytest.mark.anyio
async def test_token_bypass_attempts_all_fail(sandbox: Sandbox) -> None:
    clock = FakeClock()
    guardrails = Guardrails(Settings.for_sandbox("manager"), clock=clock, monotonic=clock)
    first, second = [n for n in sandbox.state["numbers"] if n.get("call_flow_id")][:2]
    async with open_client(sandbox, guardrails=guardrails) as client:
        phone = await an_available(client)
        purchase = await call(client, "purchase_number", phone_number=phone)
        release = await call(client, "release_number", number_id=first["id"])
        token = release["confirmation_token"]

        made_up = await call_error(
            client, "release_number", number_id=first["id"], confirmation_token="x" * 24
        )
        other_tool = await call_error(
            client, "release_number", number_id=first["id"], confirmation_token=purchase["confirmation_token"]
        )
        other_arguments = await call_error(
            client, "release_number", number_id=second["id"], confirmation_token=token
        )
        # Each attempt above burned its token: a real one is single-use even when misused.
        burned = await call_error(client, "release_number", number_id=first["id"], confirmation_token=token)

        late = await call(client, "release_number", number_id=first["id"])
        clock.now += TOKEN_TTL_SECONDS + 1
        expired = await call_error(
            client, "release_number", number_id=first["id"], confirmation_token=late["confirmation_token"]
        )
    assert "not valid" in made_up
    assert "issued for purchase_number, not release_number" in other_tool
    assert "other arguments" in other_arguments and "spent now" in other_arguments
    assert "spent by an earlier call with other arguments" in burned and "without it" in burned
    assert "expired" in expired
    assert owned(sandbox, first["id"]) and owned(sandbox, second["id"])
    assert sent(sandbox, "DELETE", "/numbers/") == 0 and sent(sandbox, "POST", "/numbers/purchase") == 0


@pytest.mark.anyio
async def test_ten_parallel_calls_with_one_token_act_exactly_once(sandbox: Sandbox) -> None:
    async with open_client(sandbox) as client:
        phone = await an_available(client)
        preview = await call(client, "purchase_number", phone_number=phone)
        outcomes: list[bool] = []

        async def confirm() -> None:
            result = await client.call_tool(
                "purchase_number",
                {"phone_number": phone, "confirmation_token": preview["confirmation_token"]},
            )
            outcomes.append(not result.is_error)

        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(confirm)
    assert sorted(outcomes) == [False] * 9 + [True]
    assert sent(sandbox, "POST", "/numbers/purchase") == 1
    assert sum(n["phone_number"] == phone for n in sandbox.state["numbers"]) == 1


@pytest.mark.anyio
async def test_token_preview_that_changed_is_refused_with_the_new_preview(sandbox: Sandbox) -> None:
    number = a_number(sandbox)
    async with open_client(sandbox) as client:
        preview = await call(client, "release_number", number_id=number["id"])
        await confirmed(client, "update_number", number_id=number["id"], name="Renamed after the preview")
        answer = await call(
            client, "release_number", number_id=number["id"], confirmation_token=preview["confirmation_token"]
        )
    assert answer["status"] == "needs_confirmation" and "changed" in answer["message"]
    assert "Renamed after the preview" in answer["preview"]["action"]
    assert owned(sandbox, number["id"]) and sent(sandbox, "DELETE", "/numbers/") == 0


def test_principal_separates_http_sessions_and_is_stable_without_them() -> None:
    guardrails = Guardrails(Settings.for_sandbox("manager"))

    class Ctx:
        def __init__(self, headers: dict[str, str] | None) -> None:
            self.headers = headers

    stdio = guardrails.principal_for(None)
    assert guardrails.principal_for(Ctx(None)) == stdio  # type: ignore[arg-type]
    one = guardrails.principal_for(Ctx({"mcp-session-id": "a"}))  # type: ignore[arg-type]
    two = guardrails.principal_for(Ctx({"mcp-session-id": "b"}))  # type: ignore[arg-type]
    assert len({stdio, one, two}) == 3


@pytest.mark.anyio
async def test_a_token_issued_to_one_session_is_refused_in_another(sandbox: Sandbox) -> None:
    guardrails = Guardrails(Settings.for_sandbox("manager"))
    number = a_number(sandbox)
    session: dict[str, str] = {"mcp-session-id": "first"}
    original: Callable[[Any], str] = guardrails.principal_for
    guardrails.principal_for = lambda ctx: original(type("Ctx", (), {"headers": dict(session)})())  # type: ignore[method-assign]
    async with open_client(sandbox, guardrails=guardrails) as client:
        preview = await call(client, "release_number", number_id=number["id"])
        session["mcp-session-id"] = "second"
        error = await call_error(
            client, "release_number", number_id=number["id"], confirmation_token=preview["confirmation_token"]
        )
    assert "another caller" in error and "this same session" in error and owned(sandbox, number["id"])


@pytest.mark.anyio
@pytest.mark.parametrize("era", ERAS)
async def test_capabilities_say_how_this_client_is_asked(sandbox: Sandbox, era: str, tmp_path: Any) -> None:
    async with open_client(sandbox, mode=era, answers=Answers("accept")) as client:
        eliciting = (await call(client, "get_capabilities"))["confirmation"]
    async with open_client(sandbox, mode=era, confirm_sms=False, audit_log=tmp_path / "a.jsonl") as client:
        plain = (await call(client, "get_capabilities"))["confirmation"]
    assert eliciting["this_client"] == "elicitation" and plain["this_client"] == "token"
    assert "send_sms" in eliciting["tools"] and "send_sms" not in plain["tools"]
    assert eliciting["audit_log"] == "off" and plain["audit_log"] == "on"
