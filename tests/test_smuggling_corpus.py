"""Every known way to smuggle hidden text (tests/fixtures/smuggling_corpus.json) comes out clean through
every tool that can carry caller-controlled text, in every field that can carry it: SMS bodies and
previews, contact and caller names, transcriptions and summaries, form submissions, utm_* tags and
fields the API adds that cs_mcp does not declare (asked for with `fields=` or passed through).

The API here is hostile: it puts the corpus text in every free-text field, extra field and nested value.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from mcp.client import Client

from cs_mcp.config import Role, Settings
from cs_mcp.models import clean_text
from cs_mcp.secrets import Secret
from cs_mcp.server import build_server
from tests.untrusted_checks import FENCE_CLOSE, FENCE_OPEN, corpus, fenced_parts, smuggled, strings_in

pytestmark = pytest.mark.anyio

CONTACT, BUSINESS = "+14075550777", "+18135550100"
TEXT_ID, VOICEMAIL_ID = "7d1c2a54-0c5e-4d47-9c55-1f3f1d2a0001", "7d1c2a54-0c5e-4d47-9c55-1f3f1d2a0002"
CALL_ID, FORM_ID = "7d1c2a54-0c5e-4d47-9c55-1f3f1d2a0003", "7d1c2a54-0c5e-4d47-9c55-1f3f1d2a0004"
AT = "2026-12-01T10:00:00Z"
SMUGGLING = corpus()["smuggling"]

# Each tool that can carry caller-controlled text, with arguments that ask for the undeclared fields too.
TOOL_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("get_text_thread", {"contact": CONTACT, "fields": ["sender_note"]}),
    ("list_conversations", {}),
    ("list_voicemails", {"fields": ["caller_note"]}),
    ("get_voicemail", {"voicemail_id": VOICEMAIL_ID}),
    ("list_calls", {"fields": ["utm_campaign", "visitor"]}),
    ("get_call", {"call_id": CALL_ID}),
    ("get_call_transcription", {"call_id": CALL_ID}),
    ("get_call_analytics", {"group_by": ["utm_campaign"]}),
    ("get_form", {"form_id": FORM_ID}),
    ("list_forms", {"fields": ["recent_submissions"]}),
]


def hostile_api(payload: str) -> httpx.MockTransport:
    """An API whose every caller-controlled value (and some undeclared ones, nested too) is `payload`."""
    call = {
        "id": CALL_ID,
        "created_at": AT,
        "direction": "inbound",
        "status": "completed",
        "caller_number": CONTACT,
        "caller_name": payload,
        "tracking_number": BUSINESS,
        "duration_seconds": 60,
        "source": "google",
        "utm_campaign": payload,
        "utm_term": payload,
        "visitor": {"notes": [payload], payload: "a key the visitor chose"},
    }
    submission = {"id": "s1", "submitted_at": AT, "data": {"message": payload, payload: "x"}}
    form = {"id": FORM_ID, "name": "Contact", "submission_count": 1, "recent_submissions": [submission]}
    bodies: dict[str, Any] = {
        "/texts": {
            "texts": [
                {
                    "id": TEXT_ID,
                    "direction": "inbound",
                    "from_number": CONTACT,
                    "to_number": BUSINESS,
                    "body": payload,
                    "status": "received",
                    "created_at": AT,
                    "sender_note": payload,
                }
            ]
        },
        "/conversations": {
            "conversations": [
                {
                    "contact": CONTACT,
                    "contact_name": payload,
                    "last_message_at": AT,
                    "last_message_preview": payload,
                    "unread": 1,
                }
            ]
        },
        "/voicemails": {
            "voicemails": [
                {
                    "id": VOICEMAIL_ID,
                    "caller_name": payload,
                    "transcription": payload,
                    "created_at": AT,
                    "caller_note": payload,
                }
            ]
        },
        f"/voicemails/{VOICEMAIL_ID}": {
            "voicemail": {"id": VOICEMAIL_ID, "transcription": payload, "extra": payload}
        },
        "/calls": {"calls": [call], "has_more": False},
        f"/calls/{CALL_ID}": {"call": {**call, "summary": payload, "transcription": payload}},
        "/analytics/calls": {"rows": [{"utm_campaign": payload, "count": 1}], "totals": {"count": 1}},
        "/forms": {"forms": [form]},
        f"/forms/{FORM_ID}": {"form": {**form, "fields": ["message"]}},
    }

    def respond(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/api/v1")
        if path == f"/calls/{CALL_ID}/transcription":  # a legacy endpoint: no envelope
            return httpx.Response(200, json={"transcription": payload})
        return httpx.Response(200, json={"data": bodies[path]})

    return httpx.MockTransport(respond)


@asynccontextmanager
async def client_for(payload: str) -> AsyncIterator[Client]:
    settings = Settings(api_key=Secret("k" * 32), base_url="http://api.test/api/v1", role=Role.VIEWER)
    async with Client(build_server(settings, transport=hostile_api(payload))) as client:
        yield client


@pytest.mark.parametrize("entry", SMUGGLING, ids=[e["technique"] for e in SMUGGLING])
def test_cleaning_removes_the_technique(entry: dict[str, str]) -> None:
    cleaned = clean_text(entry["text"])
    assert cleaned == entry["visible"]
    assert not smuggled(cleaned)
    assert clean_text(cleaned) == cleaned, "cleaning twice changes nothing (output checks clean again)"


@pytest.mark.parametrize("entry", corpus()["legitimate"], ids=[e["name"] for e in corpus()["legitimate"]])
def test_cleaning_keeps_legitimate_text(entry: dict[str, str]) -> None:
    assert clean_text(entry["text"]) == entry["text"]


@pytest.mark.parametrize("entry", SMUGGLING, ids=[e["technique"] for e in SMUGGLING])
async def test_every_tool_and_field_carrying_caller_text_comes_out_clean(entry: dict[str, str]) -> None:
    async with client_for(entry["text"]) as client:
        for tool, arguments in TOOL_CALLS:
            result = await client.call_tool(tool, arguments)
            text = result.content[0].text
            assert not result.is_error, f"{tool}: {text}"
            for value in strings_in(result.structured_content):
                assert not smuggled(value), f"{tool} structuredContent: {value!r}"
            assert not smuggled(text, line_breaks=True), f"{tool} text: {text!r}"
            fenced = fenced_parts(text)
            if entry["visible"]:
                assert any(entry["visible"] in part for part in fenced), f"{tool} did not fence it: {text}"
            unfenced = text
            for part in fenced:
                unfenced = unfenced.replace(f"{FENCE_OPEN}{part}{FENCE_CLOSE}", "")
            if len(entry["visible"]) >= 8:
                assert entry["visible"] not in unfenced, f"{tool} shows it unfenced: {text}"
