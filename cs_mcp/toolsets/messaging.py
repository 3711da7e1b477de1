"""Messaging: SMS conversations, threads, delivery events, and sending a text (confirmed)."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field

from cs_mcp import handlers
from cs_mcp.api.models import Number
from cs_mcp.budget import Measured
from cs_mcp.filters import Before, Contains, Match, NonZero, Since
from cs_mcp.guardrails.preview import ConfirmedInput, GuardrailError, Preview
from cs_mcp.handlers import ToolCall
from cs_mcp.listing import ListQuery, Page
from cs_mcp.models import ApiObject, Day, Phone, SmsBody, UntrustedText
from cs_mcp.spec import ToolFunctions

# GSM 03.38: the basic set costs one unit a character, the extension set two (escape + char).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
    "abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


def segments(body: str) -> tuple[int, str]:
    """How many SMS parts `body` is billed as, and its encoding (GSM-7 or UCS-2)."""
    if all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in body):
        units, single, multi, encoding = sum(2 if ch in GSM_EXTENDED else 1 for ch in body), 160, 153, "GSM-7"
    else:  # UCS-2 counts UTF-16 code units: an emoji takes two
        units, single, multi, encoding = len(body.encode("utf-16-le")) // 2, 70, 67, "UCS-2"
    return (1 if units <= single else math.ceil(units / multi)), encoding


class Conversation(ApiObject):
    contact: str | None = None
    contact_name: UntrustedText | None = None
    tracking_number: str | None = None
    last_message_at: str | None = None
    last_message_preview: UntrustedText | None = None
    unread: int | None = None


ConversationPage = Page[Conversation]


class ListConversations(ListQuery):
    contact: Annotated[
        str | None,
        Field(max_length=60, description="number or name"),
        Contains(("contact", "contact_name")),
    ] = None
    tracking_number: Annotated[str | None, Field(max_length=20), Contains(("tracking_number",))] = None
    unread: Annotated[bool | None, NonZero("unread")] = None
    since: Annotated[Day | None, Since("last_message_at")] = None
    before: Annotated[Day | None, Before("last_message_at")] = None


class Text(ApiObject):
    id: str | None = None
    direction: str | None = None
    body: UntrustedText | None = None
    status: str | None = None
    created_at: str | None = None


TextPage = Page[Text]


class GetTextThread(ListQuery):
    contact: Phone
    direction: Annotated[Literal["inbound", "outbound"] | None, Match("direction")] = None
    since: Annotated[Day | None, Since("created_at")] = None
    before: Annotated[Day | None, Before("created_at")] = None


class SmsEvent(ApiObject):
    type: str | None = None
    number: str | None = None
    contact: str | None = None
    status: str | None = None
    created_at: str | None = None


SmsEventPage = Page[SmsEvent]


class ListSmsEvents(ListQuery):
    type: Annotated[str | None, Field(max_length=40), Match("type")] = None
    status: Annotated[str | None, Field(max_length=40), Match("status")] = None
    number: Annotated[str | None, Field(max_length=20), Contains(("number",))] = None
    contact: Annotated[str | None, Field(max_length=60), Contains(("contact",))] = None
    since: Annotated[Day | None, Since("created_at")] = None
    before: Annotated[Day | None, Before("created_at")] = None


class SendSms(ConfirmedInput):
    from_number: Annotated[Phone, Field(description="one of the business's SMS-enabled numbers")]
    to_number: Phone
    body: SmsBody


async def get_text_thread(call: ToolCall, params: GetTextThread) -> Measured[TextPage]:
    items = await call.api.texts.thread(params.contact)
    return await handlers.list_items(call, params, items)


async def _sender(call: ToolCall, phone: str) -> Number:
    """The business number `phone`, refused unless it exists here and can send SMS."""
    number = await call.api.numbers.by_phone(phone)
    if number is None:
        raise GuardrailError(
            f"{phone} is not one of this business's numbers, so it cannot send SMS. Nothing was sent. "
            "Use list_numbers with sms_enabled=true to pick a sender."
        )
    if not number.sms_enabled:
        raise GuardrailError(
            f"{phone} ({number.name or 'unnamed'}) is not SMS-enabled. Nothing was sent. "
            "Use list_numbers with sms_enabled=true to pick a sender."
        )
    return number


async def preview_send_sms(call: ToolCall, params: SendSms) -> Preview:
    sender = await _sender(call, params.from_number)
    parts, encoding = segments(params.body)
    return Preview(
        action=f"Text {params.to_number} from {params.from_number} ({sender.name or 'unnamed'}), "
        f"{parts} SMS segment{'s' if parts > 1 else ''}",
        details={
            "from": f"{params.from_number} ({sender.name or 'unnamed'})",
            "to": params.to_number,
            "body": params.body,
            "segments": parts,
            "encoding": encoding,
            "characters": len(params.body),
        },
        irreversible=True,
    )


async def _same_texts(call: ToolCall, params: SendSms) -> dict[str, dict[str, Any]]:
    """Outbound texts in the thread with the recipient that carry this sender and body, by id."""
    return {
        str(t.get("id")): t
        for t in await call.api.texts.thread(params.to_number)
        if t.get("direction") == "outbound"
        and t.get("from_number") == params.from_number
        and (t.get("body") or "").strip() == params.body.strip()
    }


async def snapshot_send_sms(call: ToolCall, params: SendSms) -> set[str]:
    """Just before sending: the identical texts already in the thread (a repeat of an earlier message
    must not be mistaken for this one)."""
    return set(await _same_texts(call, params))


async def reconcile_send_sms(call: ToolCall, params: SendSms, before: set[str]) -> Text | None:
    """After a lost answer: the text, if the thread now holds an identical one it did not hold before."""
    new = [text for ident, text in (await _same_texts(call, params)).items() if ident not in before]
    return Text.model_validate(new[-1]) if new else None


async def send_sms(call: ToolCall, params: SendSms) -> Text:
    return Text.model_validate(await call.api.texts.send(params.from_number, params.to_number, params.body))


# What each tool of this toolset runs beyond the generic handlers (see cs_mcp/catalogue.py).
TOOLS = {
    "get_text_thread": ToolFunctions(handler=get_text_thread),
    "send_sms": ToolFunctions(
        handler=send_sms, preview=preview_send_sms, snapshot=snapshot_send_sms, reconcile=reconcile_send_sms
    ),
}
