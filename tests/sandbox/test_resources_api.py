"""Messaging, number groups and pools, voicemails, forms and webhook deliveries."""

from __future__ import annotations

from typing import Any

import pytest

from cs_mcp.sandbox import Sandbox

from .conftest import Api

pytestmark = pytest.mark.anyio
UNKNOWN = "00000000-0000-4000-8000-000000000000"
CONTACT = "+14155550123"


def _sender(sb: Sandbox, sms: bool = True) -> str:
    return next(n["phone_number"] for n in sb.state["numbers"] if n["sms_enabled"] == sms)


# --- messaging


async def test_conversations_threads_and_events(reader: Api, seeded: Sandbox) -> None:
    conversations = (await reader.data("GET", "/conversations", role="viewer"))["conversations"]
    assert conversations == seeded.state["conversations"]
    assert [c["last_message_at"] for c in conversations] == sorted(
        (c["last_message_at"] for c in conversations), reverse=True
    )
    contact = conversations[0]["contact"]
    thread = await reader.data("GET", "/texts", params={"contact": contact}, role="viewer")
    assert thread["total"] == conversations[0]["message_count"] == len(thread["texts"])
    assert [t["created_at"] for t in thread["texts"]] == sorted(t["created_at"] for t in thread["texts"])
    assert all(contact in (t["from_number"], t["to_number"]) for t in thread["texts"])
    assert (await reader.data("GET", "/texts", params={"contact": CONTACT}))["total"] == 0
    events = await reader.data("GET", "/sms")
    assert events["total"] == len(seeded.state["sms_events"]) and set(events["sms_events"][0]) == {
        "id", "type", "number", "contact", "status", "created_at",
    }  # fmt: skip


@pytest.mark.parametrize("query", [{}, {"contact": "4155550123"}])
async def test_thread_needs_an_e164_contact(reader: Api, query: dict[str, str]) -> None:
    error = await reader.error("GET", "/texts", 422, params=query)
    assert error["field"] == "contact"


async def test_send_appends_to_thread_conversation_and_events(api: Api, sb: Sandbox) -> None:
    conversation = sb.state["conversations"][3]
    sender = _sender(sb)
    count = conversation["message_count"]
    text = await api.data(
        "POST",
        "/texts",
        201,
        json={"from_number": sender, "to_number": conversation["contact"], "body": "On our way!"},
    )
    assert (text["direction"], text["from_number"], text["to_number"], text["body"]) == (
        "outbound", sender, conversation["contact"], "On our way!",
    )  # fmt: skip
    thread = (await api.data("GET", "/texts", params={"contact": conversation["contact"]}))["texts"]
    assert thread[-1] == text and len(thread) == count + 1
    top = (await api.data("GET", "/conversations"))["conversations"][0]
    assert top["contact"] == conversation["contact"] and top["last_message_preview"] == "On our way!"
    assert (top["message_count"], top["unread"], top["tracking_number"]) == (count + 1, 0, sender)
    event = (await api.data("GET", "/sms"))["sms_events"][0]
    assert (event["type"], event["number"], event["contact"]) == ("outbound", sender, conversation["contact"])


async def test_send_to_a_new_contact_starts_a_conversation(api: Api, sb: Sandbox) -> None:
    before = len(sb.state["conversations"])
    await api.data(
        "POST", "/texts", 201, json={"from_number": _sender(sb), "to_number": CONTACT, "body": "x" * 150}
    )
    assert len(sb.state["conversations"]) == before + 1
    new = sb.state["conversations"][0]
    assert (new["contact"], new["message_count"], len(new["last_message_preview"])) == (CONTACT, 1, 100)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"from_number": "+18135550100", "to_number": CONTACT, "body": "hi"}, "from_number"),  # not ours
        ({"from_number": "{no_sms}", "to_number": CONTACT, "body": "hi"}, "from_number"),
        ({"from_number": "{sender}", "to_number": "415-555-0123", "body": "hi"}, "to_number"),
        ({"from_number": "{sender}", "to_number": CONTACT, "body": ""}, "body"),
        ({"from_number": "{sender}", "to_number": CONTACT, "body": "x" * 1601}, "body"),
        ({"from_number": "{sender}", "to_number": CONTACT}, "body"),
        ({"from_number": "{sender}", "to_number": CONTACT, "body": "hi", "media": "x.png"}, "media"),
    ],
)
async def test_send_validation_sends_nothing(api: Api, sb: Sandbox, body: dict[str, str], field: str) -> None:
    values = {"{sender}": _sender(sb), "{no_sms}": _sender(sb, sms=False)}
    body = {k: values.get(v, v) for k, v in body.items()}
    before = len(sb.state["texts"])
    error = await api.error("POST", "/texts", 422, json=body)
    assert error["field"] == field
    assert len(sb.state["texts"]) == before


# --- number groups


async def test_groups_list_and_members(reader: Api, seeded: Sandbox) -> None:
    groups = (await reader.data("GET", "/number-groups", role="viewer"))["number_groups"]
    assert [g["number_count"] for g in groups] == [
        len(g["number_ids"]) for g in seeded.state["number_groups"]
    ]
    assert set(groups[0]) == {"id", "name", "number_count", "created_at"}
    group = seeded.state["number_groups"][0]
    members = await reader.data("GET", f"/number-groups/{group['id']}/members")
    assert {n["id"] for n in members["numbers"]} == set(group["number_ids"]) and members["total"] == len(
        group["number_ids"]
    )


async def test_group_lifecycle(api: Api, sb: Sandbox) -> None:
    numbers = sb.state["numbers"]
    group = await api.data(
        "POST", "/number-groups", 201, json={"name": "Summer", "number_ids": [numbers[0]["id"]]}
    )
    assert group["number_count"] == 1
    await api.error("POST", "/number-groups", 409, json={"name": "summer"})
    path = f"/number-groups/{group['id']}"
    renamed = await api.data("PUT", path, json={"name": "Summer 2026"})
    assert renamed["name"] == "Summer 2026"
    added = await api.data(
        "POST", f"{path}/members", json={"number_ids": [numbers[0]["id"], numbers[1]["id"], numbers[2]["id"]]}
    )
    assert added["number_count"] == 3
    members = await api.data("GET", f"{path}/members")
    assert [n["id"] for n in members["numbers"]] == [n["id"] for n in numbers[:3]]
    removed = await api.data("DELETE", f"{path}/members/{numbers[1]['id']}")
    assert removed["number_count"] == 2
    await api.error("DELETE", f"{path}/members/{numbers[1]['id']}", 404)
    error = await api.error("POST", f"{path}/members", 422, json={"number_ids": [UNKNOWN]})
    assert error["field"] == "number_ids" and UNKNOWN in error["message"]
    await api.error("POST", f"{path}/members", 422, json={"number_ids": []})
    assert await api.data("DELETE", path) == {"deleted": True, "id": group["id"]}
    await api.error("GET", f"{path}/members", 404)
    await api.error("PUT", path, 404, json={"name": "x"})


async def test_group_rename_conflicts_with_another_group(api: Api, sb: Sandbox) -> None:
    first, second = sb.state["number_groups"][:2]
    await api.error("PUT", f"/number-groups/{second['id']}", 409, json={"name": first["name"].upper()})
    await api.data(
        "PUT", f"/number-groups/{first['id']}", json={"name": first["name"]}
    )  # its own name is fine


# --- number pools


async def test_pools_list_and_get(reader: Api, seeded: Sandbox) -> None:
    pools = (await reader.data("GET", "/number-pools", role="viewer"))["number_pools"]
    assert [p["number_count"] for p in pools] == [len(p["number_ids"]) for p in seeded.state["number_pools"]]
    assert {
        "id",
        "name",
        "website_url",
        "call_flow_id",
        "session_timeout_seconds",
        "fallback_number",
        "number_count",
    } <= set(pools[0])
    pool = seeded.state["number_pools"][0]
    one = await reader.data("GET", f"/number-pools/{pool['id']}")
    assert [n["id"] for n in one["numbers"]] == pool["number_ids"] and "number_ids" not in one
    await reader.error("GET", f"/number-pools/{UNKNOWN}", 404)


async def test_pool_lifecycle_and_exclusive_membership(api: Api, sb: Sandbox) -> None:
    taken = sb.state["number_pools"][0]["number_ids"][0]
    free = next(
        n["id"]
        for n in sb.state["numbers"]
        if all(n["id"] not in p["number_ids"] for p in sb.state["number_pools"])
    )
    body = {"name": "Landing B", "website_url": "https://example.com/b", "fallback_number": "+18135550100"}
    pool = await api.data("POST", "/number-pools", 201, json=body)
    assert (pool["session_timeout_seconds"], pool["number_count"], pool["call_flow_id"]) == (1800, 0, None)
    path = f"/number-pools/{pool['id']}"
    error = await api.error("POST", f"{path}/numbers", 409, json={"number_ids": [taken]})
    assert "already in the pool" in error["message"]
    added = await api.data("POST", f"{path}/numbers", json={"number_ids": [free]})
    assert added["number_count"] == 1
    assert [n["id"] for n in (await api.data("GET", path))["numbers"]] == [free]
    assert (await api.data("DELETE", f"{path}/numbers/{free}"))["number_count"] == 0
    await api.error("DELETE", f"{path}/numbers/{free}", 404)
    await api.error("POST", "/number-pools", 409, json={**body, "number_ids": [taken]})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"website_url": "https://example.com"}, "name"),
        ({"name": "P"}, "website_url"),
        ({"name": "P", "website_url": "example.com"}, "website_url"),
        ({"name": "P", "website_url": "https://example.com", "call_flow_id": UNKNOWN}, "call_flow_id"),
        (
            {"name": "P", "website_url": "https://example.com", "session_timeout_seconds": 5},
            "session_timeout_seconds",
        ),
        ({"name": "P", "website_url": "https://example.com", "fallback_number": "0800"}, "fallback_number"),
    ],
)
async def test_pool_validation(api: Api, sb: Sandbox, body: dict[str, Any], field: str) -> None:
    before = len(sb.state["number_pools"])
    error = await api.error("POST", "/number-pools", 422, json=body)
    assert error["field"] == field and len(sb.state["number_pools"]) == before


# --- voicemails, forms, webhook deliveries


async def test_voicemails_and_recordings(reader: Api, seeded: Sandbox) -> None:
    voicemails = (await reader.data("GET", "/voicemails", role="viewer"))["voicemails"]
    assert voicemails == seeded.state["voicemails"]
    assert [v["created_at"] for v in voicemails] == sorted(
        (v["created_at"] for v in voicemails), reverse=True
    )
    short, long = (
        min(voicemails, key=lambda v: v["duration_seconds"]),
        max(voicemails, key=lambda v: v["duration_seconds"]),
    )
    assert await reader.data("GET", f"/voicemails/{short['id']}") == short
    sizes = []
    for voicemail in (short, long):
        response = await reader("GET", f"/voicemails/{voicemail['id']}/recording", role="viewer")
        assert response.status_code == 200 and response.headers["content-type"] == "audio/mpeg"
        assert response.content.startswith(b"ID3") and b"\xff\xf3" in response.content[:16]
        sizes.append(len(response.content))
    assert sizes[0] < sizes[1]
    await reader.error("GET", f"/voicemails/{UNKNOWN}", 404)
    await reader.error("GET", f"/voicemails/{UNKNOWN}/recording", 404)


async def test_forms_show_counts_and_recent_submissions(reader: Api, seeded: Sandbox) -> None:
    forms = (await reader.data("GET", "/forms", role="viewer"))["forms"]
    for shown, stored in zip(forms, seeded.state["forms"], strict=True):
        assert shown["submission_count"] == len(stored["submissions"]) > 10
        assert shown["recent_submissions"] == stored["submissions"][:10] and "submissions" not in shown
        assert all({"name", "label", "type", "required"} <= set(f) for f in shown["fields"])
    form = seeded.state["forms"][1]
    assert (await reader.data("GET", f"/forms/{form['id']}"))["name"] == form["name"]
    await reader.error("GET", f"/forms/{UNKNOWN}", 404)


async def test_webhook_deliveries_page_newest_first(reader: Api, seeded: Sandbox) -> None:
    stored = seeded.state["webhook_deliveries"]
    first = await reader.data("GET", "/webhooks/deliveries", role="viewer")
    assert first["total"] == len(stored) and first["deliveries"] == stored[:50]
    page = await reader.data("GET", "/webhooks/deliveries", params={"limit": 20, "offset": 40})
    assert page["deliveries"] == stored[40:60]
    assert [d["created_at"] for d in stored] == sorted((d["created_at"] for d in stored), reverse=True)
    await reader.error("GET", "/webhooks/deliveries", 422, params={"limit": 501})
    await reader.error("GET", "/webhooks/deliveries", 422, params={"offset": -1})


async def test_each_delivery_carries_the_event_of_its_calls_status(reader: Api, seeded: Sandbox) -> None:
    events = {
        "completed": "call.completed", "no-answer": "call.missed", "busy": "call.missed",
        "voicemail": "call.voicemail", "failed": "call.failed",
    }  # fmt: skip
    data = await reader.data("GET", "/webhooks/deliveries", params={"limit": 500}, role="viewer")
    deliveries = data["deliveries"]
    assert data["total"] == len(deliveries)
    table = seeded.state["calls"]
    statuses = {call["id"]: call["status"] for call in table}
    assert all(d["event"] == events[statuses[d["call_id"]]] for d in deliveries)
    assert {d["event"] for d in deliveries} == set(events.values())
    # The webhook fires for every call since the first call it was delivered for, whatever its status.
    first_attempts = {d["call_id"] for d in deliveries if d["attempt"] == 1}
    start = min(c["created_at"] for c in table if c["id"] in first_attempts)
    assert first_attempts == {c["id"] for c in table if c["created_at"] >= start}
