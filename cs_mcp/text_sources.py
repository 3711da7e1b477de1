"""The business's free text from outside, gathered from the API: SMS, voicemails, call transcriptions, forms.

Each source reads what one search or timeline needs and says what it covered. The API has no search of
its own, so this reads whole collections, one thread per request and one transcription per call; every
walk that grows with the business is bounded, and a source that hit its bound says where it stopped
(`Gathered.complete` false), so an answer never reads as exhaustive when it is not.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import anyio

from cs_mcp import fan_out
from cs_mcp.api.forms import submission_answers, submission_text
from cs_mcp.errors import NotFound
from cs_mcp.models import E164_PATTERN, as_e164

if TYPE_CHECKING:
    from cs_mcp.client import CallScalerClient

# Bounds on the reads one call makes (each a request): SMS threads (and the time they may take), call
# pages, call transcriptions. The API has no paging or search of threads: one request per thread, so a
# search reads every thread active in its window, most recently active first, until THREADS_SECONDS.
MAX_THREADS = 20_000
THREADS_SECONDS = 60
CALL_PAGE = 500
MAX_CALL_PAGES = 20
MAX_TRANSCRIPTS = 150


@dataclass(frozen=True)
class Window:
    """Days from `since` (inclusive) to `before` (exclusive), on the API's UTC timestamps; open ends."""

    since: date | None = None
    before: date | None = None

    def holds(self, at: str | None) -> bool:
        day = (at or "")[:10]
        if not day:
            return self.since is None and self.before is None
        return (self.since is None or day >= self.since.isoformat()) and (
            self.before is None or day < self.before.isoformat()
        )

    def api_filters(self) -> dict[str, str]:
        """The window as the call log's filters."""
        return {
            key: value.isoformat()
            for key, value in (("start_date", self.since), ("end_date", self.before))
            if value is not None
        }


@dataclass(frozen=True)
class TextRecord:
    """One piece of outside text: a message, a voicemail, a call's transcription, a form submission."""

    kind: str  # sms, voicemail, call, form
    id: str
    at: str
    text: str
    contact: str | None = None  # the outside party's phone number (E.164), when known
    name: str | None = None  # their name as they gave it (untrusted)
    direction: str | None = None  # inbound or outbound (texts and calls)


@dataclass(frozen=True)
class Gathered:
    records: list[TextRecord]
    covered: str  # what was read, and what was not when a bound was hit
    complete: bool = True


def phone_of(value: Any) -> str | None:
    """`value` as an E.164 phone number, or None when it is not one."""
    phone = as_e164(value)
    return phone if isinstance(phone, str) and re.fullmatch(E164_PATTERN, phone) else None


def _newest_first(records: list[TextRecord]) -> list[TextRecord]:
    return sorted(records, key=lambda r: r.at, reverse=True)


def text_record(text: Mapping[str, Any], contact: str, name: str | None = None) -> TextRecord:
    return TextRecord(
        kind="sms",
        id=str(text.get("id") or ""),
        at=str(text.get("created_at") or ""),
        text=str(text.get("body") or ""),
        contact=contact,
        name=name,
        direction=text.get("direction"),
    )


async def texts(api: CallScalerClient, window: Window) -> Gathered:
    """The messages in the window, from every thread active since it began (most recently active first;
    a thread is one request: the API has no search of its own), within THREADS_SECONDS and MAX_THREADS."""
    # A thread last active before the window has nothing in it (one active after it still may).
    since = window.since.isoformat() if window.since else ""
    threads = [
        c
        for c in await api.texts.conversations()
        if c.get("contact") and str(c.get("last_message_at") or "9")[:10] >= since
    ]
    threads.sort(key=lambda c: str(c.get("last_message_at") or ""), reverse=True)
    wanted = threads[:MAX_THREADS]
    read: dict[int, list[dict[str, Any]]] = {}

    async def thread(index: int) -> None:
        read[index] = await api.texts.thread(str(wanted[index]["contact"]))

    with anyio.move_on_after(THREADS_SECONDS):
        await fan_out.gather(thread, range(len(wanted)))
    records = [
        text_record(t, str(wanted[i]["contact"]), wanted[i].get("contact_name"))
        for i in sorted(read)
        for t in read[i]
        if window.holds(t.get("created_at"))
    ]
    return Gathered(
        _newest_first(records), _threads_covered(threads, wanted, read), len(read) == len(threads)
    )


def _threads_covered(
    threads: list[dict[str, Any]], wanted: list[dict[str, Any]], read: Mapping[int, Any]
) -> str:
    """Which threads were read: all of them, or which were not and why."""
    if len(read) == len(threads):
        return f"all {len(threads)} SMS threads active in the window"
    unread = [c for i, c in enumerate(wanted) if i not in read] + threads[len(wanted) :]
    newest_unread = max(str(c.get("last_message_at") or "")[:10] for c in unread)
    why = (
        f"reading stopped after {THREADS_SECONDS} s"
        if len(read) < len(wanted)
        else f"at most {MAX_THREADS:,} threads a search"
    )
    return (
        f"{len(read)} of {len(threads)} SMS threads ({why}; one request a thread): the {len(unread)} not read "
        f"were last active on or before {newest_unread}; narrow with since/before"
    )


async def voicemails(api: CallScalerClient, window: Window) -> Gathered:
    records = [
        TextRecord(
            kind="voicemail",
            id=str(v.get("id") or ""),
            at=str(v.get("created_at") or ""),
            text=str(v.get("transcription") or ""),
            contact=phone_of(v.get("caller_number")),
            name=v.get("caller_name"),
            direction="inbound",
        )
        for v in await api.voicemails.list()
        if window.holds(v.get("created_at"))
    ]
    return Gathered(_newest_first(records), f"{len(records)} voicemails")


async def call_transcripts(api: CallScalerClient, window: Window) -> Gathered:
    """The transcriptions of the newest MAX_TRANSCRIPTS transcribed calls in the window."""
    transcribed: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(MAX_CALL_PAGES):
        page = await api.calls.page(window.api_filters(), limit=CALL_PAGE, cursor=cursor)
        # A call log that does not say which calls are transcribed has each one asked.
        transcribed += [c for c in page.items if c.get("has_transcription") is not False]
        cursor = page.next_cursor
        if cursor is None or len(transcribed) >= MAX_TRANSCRIPTS:
            break
    read = transcribed[:MAX_TRANSCRIPTS]
    texts = await fan_out.gather(lambda c: _transcription(api, c), read)
    records = [
        TextRecord(
            kind="call",
            id=str(c.get("id") or ""),
            at=str(c.get("created_at") or ""),
            text=text,
            contact=phone_of(c.get("caller_number")),
            name=c.get("caller_name"),
            direction=c.get("direction"),
        )
        for c, text in zip(read, texts, strict=True)
        if text
    ]
    complete = cursor is None and len(read) == len(transcribed)
    covered = f"the transcriptions of {len(read)} calls"
    if not complete:
        oldest = str(read[-1].get("created_at") or "")[:16] if read else "?"
        covered += (
            f", the newest back to {oldest}; older calls not read (search them with since/before, "
            f"{MAX_TRANSCRIPTS} transcriptions a search)"
        )
    return Gathered(records, covered, complete)


async def _transcription(api: CallScalerClient, call: Mapping[str, Any]) -> str | None:
    try:
        return await api.calls.transcription(call.get("id"))
    except NotFound:  # no transcription after all
        return None


async def form_submissions(api: CallScalerClient, window: Window) -> Gathered:
    """The submissions the API returns for every form, in the window. It returns each form's most recent
    ones only (`recent_submissions`, no paging): the older ones cannot be read, and the answer says how
    many that leaves out, per form, so a count over them never reads as complete."""
    forms = await api.forms.list()
    # The list may carry the submissions already; otherwise each form is read on its own.
    missing = [f for f in forms if not isinstance(f.get("recent_submissions"), list)]
    read = {str(f.get("id")): f for f in await fan_out.gather(lambda f: api.forms.get(f.get("id")), missing)}
    records: list[TextRecord] = []
    kept_back: dict[str, int] = {}  # per form name: submissions the API did not return
    returned = 0
    for listed in forms:
        form = read.get(str(listed.get("id")), listed)
        submissions = [s for s in form.get("recent_submissions") or [] if isinstance(s, dict)]
        returned += len(submissions)
        if (older := int(form.get("submission_count") or 0) - len(submissions)) > 0:
            kept_back[str(form.get("name") or form.get("id"))] = older
        records += [_form_record(s) for s in submissions if window.holds(_submitted_at(s))]
    covered = f"{returned} form submissions"
    if kept_back:
        worst = sorted(kept_back.items(), key=lambda kv: -kv[1])[:3]
        covered += (
            f"; {sum(kept_back.values())} older submissions of {len(kept_back)} forms were not searched: the "
            "API returns only each form's most recent submissions and cannot page back (most left out: "
            + ", ".join(f"{name} {count}" for name, count in worst)
            + ")"
        )
    return Gathered(_newest_first(records), covered, complete=not kept_back)


def _submitted_at(submission: Mapping[str, Any]) -> str:
    return str(submission.get("submitted_at") or submission.get("created_at") or "")


def _form_record(submission: Mapping[str, Any]) -> TextRecord:
    answers = submission_answers(submission)
    phone = next((p for p in map(phone_of, answers.values()) if p), None)
    name = next((str(v) for k, v in answers.items() if "name" in str(k).casefold() and v), None)
    return TextRecord(
        kind="form",
        id=str(submission.get("id") or ""),
        at=_submitted_at(submission),
        text=submission_text(submission),
        contact=phone,
        name=name,
        direction="inbound",
    )
