"""get_caller_timeline: one phone number's calls, texts, voicemails and form submissions, against the
sandbox's raw data."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from cs_mcp import text_sources
from cs_mcp.models import UNTRUSTED_OPEN
from cs_mcp.sandbox import Sandbox
from tests.conftest import call, call_error

pytestmark = pytest.mark.anyio


def history(sandbox: Sandbox, phone: str, since: str = "") -> dict[str, list[str]]:
    """Each kind's timestamps for `phone`, straight from the sandbox's state."""
    state = sandbox.state
    return {
        "calls": [c["created_at"] for c in state["calls"] if c["caller_number"] == phone],
        "texts": [t["created_at"] for t in state["texts"] if phone in (t["from_number"], t["to_number"])],
        "voicemails": [v["created_at"] for v in state["voicemails"] if v["caller_number"] == phone],
        "form_submissions": [
            s["submitted_at"]
            for f in state["forms"]
            for s in f["submissions"][:10]  # what the API returns of each form
            if s["data"].get("phone") == phone
        ],
    }


def busiest_texter(sandbox: Sandbox) -> str:
    calls = Counter(c["caller_number"] for c in sandbox.state["calls"])
    return max((c["contact"] for c in sandbox.state["conversations"]), key=lambda p: calls[p])


async def test_one_numbers_whole_history_newest_first(connect: Any, sandbox: Sandbox) -> None:
    phone = busiest_texter(sandbox)
    expected = history(sandbox, phone)
    async with connect() as client:
        timeline = await call(client, "get_caller_timeline", phone=phone, limit=100)
    assert timeline["counts"] == {kind: len(times) for kind, times in expected.items()}
    assert timeline["counts"]["calls"] and timeline["counts"]["texts"] and timeline["counts"]["voicemails"]
    assert timeline["total"] == sum(timeline["counts"].values())
    times = [e["at"] for e in timeline["events"]]
    newest = sorted((t for ts in expected.values() for t in ts), reverse=True)
    assert times == newest[: len(times)]  # as many as the output budget holds
    assert timeline["first_at"] == min(t for ts in expected.values() for t in ts)
    assert timeline["complete"] is True


async def test_national_format_since_and_a_short_page(connect: Any, sandbox: Sandbox) -> None:
    phone = busiest_texter(sandbox)
    since = "2026-09-01"
    expected = {kind: [t for t in ts if t[:10] >= since] for kind, ts in history(sandbox, phone).items()}
    async with connect() as client:
        timeline = await call(client, "get_caller_timeline", phone=phone[2:], since=since, limit=2)
    assert timeline["phone"] == phone
    assert timeline["total"] == sum(map(len, expected.values())) > 2
    assert len(timeline["events"]) == 2 and all(e["at"][:10] >= since for e in timeline["events"])


async def test_form_submissions_and_fenced_words(connect: Any, sandbox: Sandbox) -> None:
    submission = sandbox.state["forms"][0]["submissions"][0]
    phone = submission["data"]["phone"]
    async with connect() as client:
        result = await client.call_tool("get_caller_timeline", {"phone": phone})
    timeline = result.structured_content
    event = next(e for e in timeline["events"] if e["id"] == submission["id"])
    assert event["kind"] == "form_submission" and timeline["counts"]["form_submissions"] >= 1
    assert submission["data"]["name"] in event["text"]
    assert f"text={UNTRUSTED_OPEN}" in result.content[0].text


async def test_calls_beyond_the_bound_are_said_to_be_left_out(
    connect: Any, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(text_sources, "CALL_PAGE", 2)
    monkeypatch.setattr(text_sources, "MAX_CALL_PAGES", 1)
    async with connect() as client:
        timeline = await call(client, "get_caller_timeline", phone=busiest_texter(sandbox))
    assert timeline["counts"]["calls"] <= 2 and timeline["complete"] is False


async def test_a_bad_phone_is_refused_before_any_request(connect: Any, sandbox: Sandbox) -> None:
    async with connect() as client:
        assert "E.164" in await call_error(client, "get_caller_timeline", phone="call me")
    assert len(sandbox.requests) == 0
