"""The voicemails and forms toolsets through a real MCP client, checked against `sandbox.state`."""

from __future__ import annotations

import base64
from collections import Counter

import pytest
from mcp_types import AudioContent, ResourceLink

from cs_mcp.models import clean_text
from cs_mcp.sandbox import Sandbox
from tests.conftest import Connect, call, call_error

pytestmark = pytest.mark.anyio


# --- voicemails ---------------------------------------------------------------------------------------


async def test_list_voicemails_summary_and_filters(sandbox: Sandbox, connect: Connect) -> None:
    voicemails = sandbox.state["voicemails"]
    unheard = [v for v in voicemails if not v["listened"]]
    assert unheard and len(unheard) < len(voicemails)
    tracking = voicemails[0]["tracking_number"]
    async with connect() as client:
        everything = await call(client, "list_voicemails", limit=5)
        new = await call(client, "list_voicemails", listened=False, limit=100)
        on_line = await call(client, "list_voicemails", tracking_number=tracking[-7:], limit=1)
        about = await call(client, "list_voicemails", text="water heater", limit=1)
    assert everything["total"] == len(voicemails)
    assert everything["summary"]["by_listened"] == {
        str(k): v for k, v in Counter(v["listened"] for v in voicemails).most_common()
    }
    assert everything["summary"]["duration_seconds"]["sum"] == sum(v["duration_seconds"] for v in voicemails)
    assert everything["items"][0]["created_at"] == max(v["created_at"] for v in voicemails)
    assert all(len(i.get("transcription", "")) <= 110 for i in everything["items"])
    assert {i["id"] for i in new["items"]} == {v["id"] for v in unheard}
    assert on_line["total"] == sum(1 for v in voicemails if v["tracking_number"] == tracking)
    assert about["total"] == sum(1 for v in voicemails if "water heater" in v["transcription"].lower())


async def test_get_voicemail_has_the_full_transcription(sandbox: Sandbox, connect: Connect) -> None:
    voicemail = sandbox.state["voicemails"][-1]
    async with connect() as client:
        got = await call(client, "get_voicemail", voicemail_id=voicemail["id"])
        error = await call_error(client, "get_voicemail", voicemail_id="not-a-uuid")
    assert got["transcription"] == clean_text(voicemail["transcription"])
    assert got["call_id"] == voicemail["call_id"] and got["listened"] == voicemail["listened"]
    assert "voicemail_id" in error


async def test_get_voicemail_recording_inline_audio(sandbox: Sandbox, connect: Connect) -> None:
    voicemail = min(sandbox.state["voicemails"], key=lambda v: v["duration_seconds"])
    # Base64 audio counts against the budget: even a short voicemail needs more than the default 4000.
    async with connect(max_output_tokens=20_000) as client:
        result = await client.call_tool("get_voicemail_recording", {"voicemail_id": voicemail["id"]})
    assert not result.is_error, result.content[0].text
    audio = [c for c in result.content if isinstance(c, AudioContent)]
    assert len(audio) == 1 and audio[0].mime_type == "audio/mpeg"
    raw = base64.b64decode(audio[0].data)
    fetched = next(r for r in reversed(sandbox.requests) if r.path.endswith("/recording"))
    assert fetched.method == "GET"
    meta = result.structured_content
    assert meta["delivery"] == "inline" and meta["bytes"] == len(raw) > 0
    assert meta["duration_seconds"] == voicemail["duration_seconds"]
    assert raw[:3] == b"ID3" or raw[0] == 0xFF  # an MP3 (ID3 tag or a frame sync)


async def test_get_voicemail_recording_links_when_over_budget(sandbox: Sandbox, connect: Connect) -> None:
    voicemail = max(sandbox.state["voicemails"], key=lambda v: v["duration_seconds"])
    async with connect() as client:
        result = await client.call_tool("get_voicemail_recording", {"voicemail_id": voicemail["id"]})
    assert not result.is_error, result.content[0].text
    assert not any(isinstance(c, AudioContent) for c in result.content)
    (link,) = [c for c in result.content if isinstance(c, ResourceLink)]
    meta = result.structured_content
    assert meta["delivery"] == "link" and "budget" in meta["note"]
    assert link.uri == meta["uri"] and meta["uri"].endswith(f"/voicemails/{voicemail['id']}/recording")


# --- forms --------------------------------------------------------------------------------------------


async def test_list_forms_counts_submissions(sandbox: Sandbox, connect: Connect) -> None:
    forms = sandbox.state["forms"]
    async with connect() as client:
        page = await call(client, "list_forms", limit=100)
        named = await call(client, "list_forms", name=forms[0]["name"].split()[0])
    assert page["total"] == len(forms)
    by_id = {f["id"]: len(f["submissions"]) for f in forms}
    assert {i["id"]: i["submission_count"] for i in page["items"]} == by_id
    assert page["summary"]["submission_count"]["sum"] == sum(by_id.values())
    word = forms[0]["name"].split()[0].lower()
    assert named["total"] == sum(1 for f in forms if word in f["name"].lower())


async def test_get_form_summarises_recent_submissions(sandbox: Sandbox, connect: Connect) -> None:
    form = max(sandbox.state["forms"], key=lambda f: len(f["submissions"]))
    newest = max(form["submissions"], key=lambda s: s["submitted_at"])
    async with connect() as client:
        got = await call(client, "get_form", form_id=form["id"], recent=3)
    assert got["submission_count"] == len(form["submissions"])
    assert got["fields"] == [f["label"] for f in form["fields"]]
    assert len(got["submissions"]) == 3
    first = got["submissions"][0]
    assert first["id"] == newest["id"] and first["submitted_at"] == newest["submitted_at"]
    for value in newest["data"].values():
        assert clean_text(str(value))[:40] in first["content"]
    recent = got["summary"]["recent"]
    assert 3 <= recent <= len(form["submissions"])
    assert got["summary"]["last"] == newest["submitted_at"][:10]
