"""SMS: conversations, a contact's thread, the SMS event log, and sending a text."""

from __future__ import annotations

from typing import Any

from cs_mcp.sandbox.answers import listing
from cs_mcp.sandbox.routes import Req, RouteTable
from cs_mcp.sandbox.store import Store

PREVIEW_LENGTH = 100
MAX_SMS_LENGTH = 1600

routes = RouteTable()


@routes.get("/conversations")
def list_conversations(store: Store, req: Req) -> dict[str, Any]:
    return listing("conversations", store.state["conversations"])


@routes.get("/texts")
def get_thread(store: Store, req: Req) -> dict[str, Any]:
    contact = req.query.phone("contact", required=True)
    return listing(
        "texts", [t for t in store.state["texts"] if contact in (t["from_number"], t["to_number"])]
    )


@routes.post("/texts", status=201)
def send_text(store: Store, req: Req) -> dict[str, Any]:
    body = req.body
    body.only(("from_number", "to_number", "body"))
    sender, recipient = body.phone("from_number", required=True), body.phone("to_number", required=True)
    message = body.string("body", required=True, max_length=MAX_SMS_LENGTH)
    number = next((n for n in store.state["numbers"] if n["phone_number"] == sender), None)
    if number is None:
        body.fail("from_number", f"must be one of this business's numbers ({sender} is not)")
    if not number["sms_enabled"]:
        body.fail("from_number", f"{sender} is not SMS-enabled")
    text = {
        "id": store.new_id(),
        "direction": "outbound",
        "from_number": sender,
        "to_number": recipient,
        "body": message,
        "status": "sent",
        "created_at": store.stamp(),
    }
    store.state["texts"].append(text)
    store.state["sms_events"].insert(
        0,
        {
            "id": store.new_id(),
            "type": "outbound",
            "number": sender,
            "contact": recipient,
            "status": "sent",
            "created_at": text["created_at"],
        },
    )
    _touch_conversation(store, text, recipient)
    return text


@routes.get("/sms")
def list_sms_events(store: Store, req: Req) -> dict[str, Any]:
    return listing("sms_events", store.state["sms_events"])


def _touch_conversation(store: Store, text: dict[str, Any], contact: str) -> None:
    """Move the contact's conversation to the top with this message (a reply marks it read)."""
    conversations = store.state["conversations"]
    conversation = next((c for c in conversations if c["contact"] == contact), None)
    if conversation is None:
        conversation = {"contact": contact, "contact_name": None, "unread": 0, "message_count": 0}
    else:
        conversations.remove(conversation)
    conversation.update(
        last_message_at=text["created_at"],
        last_message_preview=text["body"][:PREVIEW_LENGTH],
        unread=0,
        message_count=conversation["message_count"] + 1,
        tracking_number=text["from_number"],
    )
    conversations.insert(0, conversation)
