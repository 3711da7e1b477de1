"""Caps, the audit log, and no duplicate purchases or SMS under faults, through real MCP clients."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from pydantic import BaseModel

from benchmarks.run import StdioServer
from cs_mcp import catalogue
from cs_mcp.config import Caps, Settings
from cs_mcp.guardrails import AuditLog, GuardrailError, Guardrails
from cs_mcp.guardrails import audit as audit_module
from cs_mcp.sandbox import SANDBOX_KEYS, Sandbox, SandboxTransport
from tests.conftest import call, call_error, confirmed
from tests.test_guardrails import Answers, FakeClock, a_number, an_available, open_client, owned, sent
from tests.test_transports import free_port

pytestmark = pytest.mark.anyio
DAY = 86400


def sms_sender(sandbox: Sandbox) -> str:
    return next(n["phone_number"] for n in sandbox.state["numbers"] if n.get("sms_enabled"))


# ------------------------------------------------------------------------------------------- caps


async def test_purchase_cap_refuses_in_the_preview_and_names_the_limit_and_reset(sandbox: Sandbox) -> None:
    clock = FakeClock()
    settings = Settings.for_sandbox("manager", caps=Caps(purchases_per_day=1))
    guardrails = Guardrails(settings, clock=clock)
    async with open_client(
        sandbox, settings=settings, guardrails=guardrails, answers=Answers("accept")
    ) as client:
        first, second = (await call(client, "search_available_numbers", area_code="813", limit=2))["numbers"]
        await call(client, "purchase_number", phone_number=first["phone_number"])
        refused = await call_error(client, "purchase_number", phone_number=second["phone_number"])
        assert sent(sandbox, "POST", "/numbers/purchase") == 1
        clock.now += DAY + 1
        later = await call(client, "purchase_number", phone_number=second["phone_number"])
    assert "cap of 1 purchases per day" in refused and "next is allowed at" in refused
    assert "--max-purchases-per-day" in refused
    assert later["status"] == "done" and sent(sandbox, "POST", "/numbers/purchase") == 2


async def test_parallel_confirmed_purchases_cannot_overshoot_the_cap(sandbox: Sandbox) -> None:
    settings = Settings.for_sandbox("manager", caps=Caps(purchases_per_day=2))
    async with open_client(sandbox, settings=settings) as client:
        offers = (await call(client, "search_available_numbers", area_code="813", limit=4))["numbers"]
        tokens = {}
        for offer in offers:
            preview = await call(client, "purchase_number", phone_number=offer["phone_number"])
            tokens[offer["phone_number"]] = preview["confirmation_token"]
        errors: list[str] = []

        async def confirm(phone: str) -> None:
            result = await client.call_tool(
                "purchase_number", {"phone_number": phone, "confirmation_token": tokens[phone]}
            )
            if result.is_error:
                errors.append(result.content[0].text)

        async with anyio.create_task_group() as group:
            for phone in tokens:
                group.start_soon(confirm, phone)
    assert len(errors) == 2 and all("cap of 2 purchases per day" in e for e in errors)
    assert sent(sandbox, "POST", "/numbers/purchase") == 2


async def test_sms_cap_counts_sends_even_without_confirmation(sandbox: Sandbox) -> None:
    settings = Settings.for_sandbox("manager", confirm_sms=False, caps=Caps(sms_per_hour=1))
    sender = sms_sender(sandbox)
    async with open_client(sandbox, settings=settings) as client:
        first = await call(
            client, "send_sms", from_number=sender, to_number="+15125550101", body="On our way"
        )
        refused = await call_error(
            client, "send_sms", from_number=sender, to_number="+15125550102", body="On our way"
        )
    assert first["status"] == "done"  # --no-confirm-sms: sent at once
    assert "cap of 1 SMS per hour" in refused and "--max-sms-per-hour" in refused
    assert sent(sandbox, "POST", "/texts") == 1


async def test_recipient_cap_names_the_limit() -> None:
    class ManyRecipients(BaseModel):
        to_number: list[str]

    guardrails = Guardrails(Settings.for_sandbox("manager", caps=Caps(sms_recipients=2)))
    rule = catalogue.by_name()["send_sms"].cap
    await guardrails.caps.check(rule, ManyRecipients(to_number=["+15125550101", "+15125550102"]))
    with pytest.raises(GuardrailError, match="3 recipients is over the cap of 2 recipients per call"):
        await guardrails.caps.check(rule, ManyRecipients(to_number=["+15125550101"] * 3))


async def test_a_purchase_the_api_refused_does_not_use_up_the_cap(sandbox: Sandbox) -> None:
    """A 409 means nothing was bought, so the slot is given back; a second purchase still fits a cap of 1."""
    settings = Settings.for_sandbox("manager", caps=Caps(purchases_per_day=1))
    sandbox.faults.add("status", status=409, method="POST", path="/numbers/purchase", times=1)
    async with open_client(sandbox, settings=settings, answers=Answers("accept")) as client:
        phone = await an_available(client)
        refused = await call_error(client, "purchase_number", phone_number=phone)
        done = await call(client, "purchase_number", phone_number=phone)
    assert "409" in refused
    assert done["status"] == "done"
    assert sum(n["phone_number"] == phone for n in sandbox.state["numbers"]) == 1


# ------------------------------------------------------------------------------------------- faults


class ShortReads(httpx.AsyncBaseTransport):
    """The sandbox transport with a short read timeout, so a `timeout` fault trips in a fraction of a second."""

    def __init__(self, sandbox: Sandbox, seconds: float = 0.2) -> None:
        self.inner = SandboxTransport(sandbox)
        self.seconds = seconds

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = {**request.extensions.get("timeout", {}), "read": self.seconds}
        request.extensions = {**request.extensions, "timeout": timeouts}
        return await self.inner.handle_async_request(request)


@pytest.mark.parametrize("era", ["legacy", "auto"])
async def test_purchase_whose_answer_is_lost_is_reconciled_as_bought_once(sandbox: Sandbox, era: str) -> None:
    """`drop`: the API buys the number, then the connection breaks mid-answer."""
    sandbox.faults.add("drop", method="POST", path="/numbers/purchase")
    async with open_client(sandbox, mode=era, answers=Answers("accept")) as client:
        phone = await an_available(client)
        answer = await call(client, "purchase_number", phone_number=phone)
    assert answer["status"] == "done" and answer["result"]["phone_number"] == phone
    assert "answer was lost" in answer["message"] and "happened once" in answer["message"]
    assert sent(sandbox, "POST", "/numbers/purchase") == 1
    assert sum(n["phone_number"] == phone for n in sandbox.state["numbers"]) == 1


async def test_purchase_that_timed_out_is_reported_unknown_and_keeps_its_cap_slot(sandbox: Sandbox) -> None:
    """`timeout`: the client gives up before the API acts. Two checks find nothing, but a timeout proves
    nothing: the answer is "unknown" (never "not done, try again"), nothing is retried, the slot stays used."""
    sandbox.faults.add("timeout", seconds=5, method="POST", path="/numbers/purchase")
    settings = Settings.for_sandbox("manager", caps=Caps(purchases_per_day=1))
    async with open_client(
        sandbox, settings=settings, answers=Answers("accept"), transport=ShortReads(sandbox)
    ) as client:
        first, second = (await call(client, "search_available_numbers", area_code="813", limit=2))["numbers"]
        before = len(sandbox.state["numbers"])
        error = await call_error(client, "purchase_number", phone_number=first["phone_number"])
        capped = await call_error(client, "purchase_number", phone_number=second["phone_number"])
    assert "OUTCOME UNKNOWN" in error and "not retried" in error and "most likely did not happen" in error
    assert "try again" not in error.lower()
    assert "cap of 1 purchases per day" in capped and "is reached" in capped
    assert sent(sandbox, "POST", "/numbers/purchase") == 1
    assert len(sandbox.state["numbers"]) == before


async def test_rate_limited_purchase_is_retried_and_bought_once(sandbox: Sandbox) -> None:
    """A 429 is refused before anything happens, so the client may resend; it still buys exactly once."""
    sandbox.faults.add("status", status=429, retry_after=0, method="POST", path="/numbers/purchase", times=1)
    async with open_client(sandbox, answers=Answers("accept")) as client:
        phone = await an_available(client)
        answer = await call(client, "purchase_number", phone_number=phone)
    assert answer["status"] == "done"
    assert sent(sandbox, "POST", "/numbers/purchase") == 2  # the 429, then the purchase
    assert sum(n["phone_number"] == phone for n in sandbox.state["numbers"]) == 1


def texts_with(sandbox: Sandbox, body: str) -> int:
    return sum(t["body"] == body for t in sandbox.state["texts"])


async def test_sms_whose_answer_is_lost_is_checked_in_the_thread_not_resent(sandbox: Sandbox) -> None:
    """`drop`: the API sends the text, then the connection breaks; the thread shows it went, once."""
    sandbox.faults.add("drop", method="POST", path="/texts")
    sender = sms_sender(sandbox)
    async with open_client(sandbox, answers=Answers("accept")) as client:
        answer = await call(
            client, "send_sms", from_number=sender, to_number="+15125550103", body="Running late"
        )
    assert answer["status"] == "done" and answer["result"]["body"] == "Running late"
    assert "answer was lost" in answer["message"] and "happened once" in answer["message"]
    assert sent(sandbox, "POST", "/texts") == 1 and texts_with(sandbox, "Running late") == 1


async def test_sms_that_timed_out_is_not_mistaken_for_an_identical_earlier_one(
    sandbox: Sandbox,
) -> None:
    """The same words went to the same person earlier; the check must not take that one for this one."""
    sender = sms_sender(sandbox)
    arguments = {"from_number": sender, "to_number": "+15125550104", "body": "Your table is ready"}
    async with open_client(sandbox, answers=Answers("accept"), transport=ShortReads(sandbox)) as client:
        assert (await call(client, "send_sms", **arguments))["status"] == "done"
        sandbox.faults.add("timeout", seconds=5, method="POST", path="/texts")
        error = await call_error(client, "send_sms", **arguments)
    assert "OUTCOME UNKNOWN" in error and "not retried" in error and "most likely did not happen" in error
    assert sent(sandbox, "POST", "/texts") == 2 and texts_with(sandbox, "Your table is ready") == 1


async def test_a_repeated_sms_whose_answer_is_lost_is_found_as_the_new_one(sandbox: Sandbox) -> None:
    sender = sms_sender(sandbox)
    arguments = {"from_number": sender, "to_number": "+15125550105", "body": "See you at 5"}
    async with open_client(sandbox, answers=Answers("accept")) as client:
        first = await call(client, "send_sms", **arguments)
        sandbox.faults.add("drop", method="POST", path="/texts")
        second = await call(client, "send_sms", **arguments)
    assert second["status"] == "done" and "happened once" in second["message"]
    assert second["result"]["id"] != first["result"]["id"]
    assert sent(sandbox, "POST", "/texts") == 2 and texts_with(sandbox, "See you at 5") == 2


async def test_deleting_a_flow_in_use_explains_the_409(sandbox: Sandbox) -> None:
    flow = next(
        f
        for f in sandbox.state["call_flows"]
        if any(n.get("call_flow_id") == f["id"] for n in sandbox.state["numbers"])
    )
    answers = Answers("accept")
    async with open_client(sandbox, answers=answers) as client:
        error = await call_error(client, "delete_call_flow", call_flow_id=flow["id"])
    assert "409" in error and "still route to it" in error and "update_number" in error
    assert "refuses to delete" in answers.questions[0]  # the user was told before agreeing
    assert any(f["id"] == flow["id"] for f in sandbox.state["call_flows"])
    assert sent(sandbox, "DELETE", "/call-flows/") == 1


# ------------------------------------------------------------------------------------------- audit


def audit_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_audit_log_records_every_write_call_and_no_secret(sandbox: Sandbox, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    settings = Settings.for_sandbox("manager", audit_log=path, caps=Caps(purchases_per_day=0))
    number = a_number(sandbox)
    async with open_client(sandbox, settings=settings, answers=Answers("decline")) as client:
        await confirmed(client, "update_number", number_id=number["id"], name="Audited")
        await call(client, "release_number", number_id=number["id"])  # declined
        await call(client, "list_numbers")  # a read: not audited
        phone = await an_available(client)
        await call_error(client, "purchase_number", phone_number=phone)  # refused: cap 0
        await call_error(client, "update_number", number_id="00000000-0000-4000-8000-000000000000", name="x")
    async with open_client(sandbox, settings=settings) as client:  # token mode
        preview = await call(client, "release_number", number_id=number["id"])
        token = preview["confirmation_token"]
        await call(client, "release_number", number_id=number["id"], confirmation_token=token)
    lines = audit_lines(path)
    summary = [(line["tool"], line["confirmation"], line["outcome"]) for line in lines]
    # "started" goes down just before the API is asked to act; calls that never got that far have none.
    assert summary == [
        ("update_number", "not_required", "started"),
        ("update_number", "not_required", "done"),
        ("release_number", "elicitation", "declined"),
        ("purchase_number", "elicitation", "refused"),
        ("update_number", "not_required", "started"),
        ("update_number", "not_required", "error"),
        ("release_number", "token", "needs_confirmation"),
        ("release_number", "token", "started"),
        ("release_number", "token", "done"),
    ]
    calls = [line["call"] for line in lines]
    assert calls[0] == calls[1] and calls[4] == calls[5] and calls[7] == calls[8]
    assert len(set(calls)) == 6, "one id per tool call"
    assert "cap of 0 purchases per day" in lines[3]["reason"]
    assert "404" in lines[5]["message"] or "not found" in lines[5]["message"].lower()
    assert lines[0]["arguments"] == {"number_id": number["id"], "name": "Audited"}
    assert lines[8]["arguments"]["confirmation_token"] == "[redacted]"
    assert all(line["time"].endswith("Z") for line in lines)
    text = path.read_text()
    assert token not in text and "cs_key_sandbox" not in text
    assert not owned(sandbox, number["id"])


async def test_a_hidden_write_tool_called_anyway_is_refused_on_the_record(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    path = tmp_path / "audit.jsonl"
    settings = Settings.for_sandbox("viewer", audit_log=path)
    number = a_number(sandbox)
    async with open_client(sandbox, settings=settings) as client:
        error = await call_error(client, "release_number", number_id=number["id"])
        await call_error(client, "get_nothing")  # not a catalogue tool: nothing to audit
    assert "needs the manager role" in error
    [line] = audit_lines(path)
    assert (line["tool"], line["outcome"]) == ("release_number", "refused")
    assert "manager role" in line["reason"] and line["arguments"] == {"number_id": number["id"]}
    assert owned(sandbox, number["id"]) and not [r for r in sandbox.requests if r.method != "GET"]


async def test_audit_is_off_by_default(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with open_client(sandbox) as client:
        await confirmed(client, "update_number", number_id=a_number(sandbox)["id"], name="Quiet")
    assert list(tmp_path.iterdir()) == []


def test_audit_writes_each_line_whole_in_one_append(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    writes: list[bytes] = []
    synced: list[int] = []
    real_write = audit_module.os.write
    real_fsync = audit_module.os.fsync

    def write(fd: int, data: bytes) -> int:
        writes.append(bytes(data))
        return real_write(fd, data)

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(audit_module.os, "write", write)
    monkeypatch.setattr(audit_module.os, "fsync", fsync)
    path.write_text('{"earlier": "line"}\n')
    for n in range(3):
        log.write({"n": n, "text": "line\nbreak"})
    assert len(writes) == 3 == len(synced)
    assert all(w.endswith(b"\n") and w.count(b"\n") == 1 for w in writes)
    earlier, *ours = (json.loads(line) for line in path.read_text().splitlines())
    assert earlier == {"earlier": "line"} and [line["n"] for line in ours] == [0, 1, 2]
    assert path.stat().st_mode & 0o077 == 0  # created owner-only


def test_a_server_killed_mid_write_leaves_the_started_line(tmp_path: Path) -> None:
    """kill -9 while the API is still working on an update: the log says it was sent, with no outcome."""
    port, path = free_port(), tmp_path / "audit.jsonl"
    api = f"http://127.0.0.1:{port}/api/v1"
    slow_writes = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cs_mcp",
            "sandbox",
            "--port",
            str(port),
            "--fault",
            "latency=60s:method=PATCH",
        ],
        stderr=subprocess.DEVNULL,
    )
    server = None
    try:
        number_id = _first_number_id(api)
        env = {**os.environ, "CALLSCALER_API_KEY": SANDBOX_KEYS["manager"]}
        argv = ["serve", "--base-url", api, "--role", "manager", "--audit-log", str(path)]
        server = StdioServer([sys.executable, "-m", "cs_mcp", *argv], env=env)
        server.initialize()
        update = {"name": "update_number", "arguments": {"number_id": number_id, "name": "Never answered"}}
        server.send({"id": 2, "method": "tools/call", "params": update})  # its answer never comes
        deadline = time.monotonic() + 30
        while not (path.exists() and path.read_text()):
            assert time.monotonic() < deadline, "no started line while the write was in flight"
            time.sleep(0.05)
        server.process.kill()
        server.process.wait(timeout=10)
        [line] = audit_lines(path)
        assert (line["tool"], line["outcome"]) == ("update_number", "started")
        assert line["arguments"] == {"number_id": number_id, "name": "Never answered"}
    finally:
        for process in (server.process if server else None, slow_writes):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=10)


def _first_number_id(api: str) -> str:
    headers = {"Authorization": f"Bearer {SANDBOX_KEYS['viewer']}"}
    deadline = time.monotonic() + 20
    while True:
        try:
            return httpx.get(f"{api}/numbers", headers=headers, timeout=5).json()["data"]["numbers"][0]["id"]
        except httpx.ConnectError:
            assert time.monotonic() < deadline, "the sandbox did not start listening"
            time.sleep(0.05)
