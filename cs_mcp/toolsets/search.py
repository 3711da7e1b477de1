"""Search: words across everything people sent the business, and one phone number's whole history.

Both tools read across toolsets (texts, voicemails, calls, forms), which is why they have one of their
own. What they read, and where a bound stopped them, is in `cs_mcp.text_sources`; matching and snippets
in `cs_mcp.text_search`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Annotated, Any, Literal, Self

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from cs_mcp import text_sources
from cs_mcp.budget import Measured, clip, fit
from cs_mcp.handlers import ToolCall
from cs_mcp.listing import DEFAULT_PAGE_SIZE, most_common_first, unpublished_default
from cs_mcp.models import Day, LazyModel, Phone, ToolInput, UntrustedText
from cs_mcp.spec import ToolFunctions
from cs_mcp.text_search import MatchMode, TextQuery
from cs_mcp.text_sources import Gathered, TextRecord, Window

Kind = Literal["sms", "voicemail", "call", "form"]
KINDS: tuple[Kind, ...] = ("sms", "voicemail", "call", "form")
SOURCES = {
    "sms": text_sources.texts,
    "voicemail": text_sources.voicemails,
    "call": text_sources.call_transcripts,
    "form": text_sources.form_submissions,
}
# Published as the list tools publish theirs (the default page size is in the server instructions).
Limit = Annotated[
    int,
    Field(ge=1, le=100, json_schema_extra=unpublished_default),
    WithJsonSchema({"type": "integer", "maximum": 100}),
]
TIMELINE_TEXT_CHARS = 120  # of a message, transcription or submission, on a timeline line


def _shown(shown: int, total: int, what: str, cut: bool, narrow: str) -> str | None:
    """The note on a page that holds fewer than all: how many, and whether the output budget cut it."""
    if shown == total:
        return None
    budget = " (the output budget cut the page)" if cut else ""
    return f"showing the newest {shown} of {total} {what}{budget}; narrow with {narrow}"


def _ordered(since: Any, before: Any) -> None:
    if since and before and before <= since:
        raise ValueError("before must be after since (it is exclusive)")


# --- search_text ----------------------------------------------------------------------------------


class SearchText(ToolInput):
    query: Annotated[str, Field(min_length=1, max_length=200)]
    match: Annotated[MatchMode, WithJsonSchema({"enum": ["any", "all", "phrase"]})] = "any"
    kinds: Annotated[
        list[Kind] | None,
        Field(min_length=1),
        BeforeValidator(lambda v: v.replace(",", " ").split() if isinstance(v, str) else v),  # "sms,call" too
    ] = None
    since: Day | None = None
    before: Day | None = None
    limit: Limit = DEFAULT_PAGE_SIZE

    @model_validator(mode="after")
    def _readable(self) -> Self:
        TextQuery.parse(self.query, self.match)  # a query with no words is refused before any request
        _ordered(self.since, self.before)
        return self


class TextMatch(LazyModel):
    kind: str
    id: str
    at: str
    contact: str | None = None
    name: UntrustedText | None = None
    direction: str | None = None
    snippet: UntrustedText


# "Who asked about X?" is answered from these counts, whatever page of matches fits.
TOP_CONTACTS = 50


class TextSearchResult(LazyModel):
    total: int = Field(description="matches in everything searched")
    by_kind: dict[str, int]
    by_contact: dict[str, int] = Field(
        description=f"matches per contact over all matches, most first: the top {TOP_CONTACTS}, then (other) and (distinct)"
    )
    matches: list[TextMatch] = Field(description="newest first")
    searched: dict[str, str] = Field(description="per kind, what was read")
    complete: bool = Field(
        description="false: some text was not read: a bound, or the API keeps it back (see searched)"
    )
    note: str | None = Field(None, exclude=True)


def _match(record: TextRecord, snippet: str) -> TextMatch:
    return TextMatch(
        kind=record.kind,
        id=record.id,
        at=record.at,
        contact=record.contact,
        name=record.name,
        direction=record.direction,
        snippet=snippet,
    )


async def _gather(call: ToolCall, kinds: Sequence[str], window: Window) -> dict[str, Gathered]:
    """Each kind's records, one kind after another: each reads many things at once on its own."""
    gathered: dict[str, Gathered] = {}
    for done, kind in enumerate(kinds):
        await call.progress(done, len(kinds), f"reading {kind}")
        gathered[kind] = await SOURCES[kind](call.api, window)
    return gathered


async def search_text(call: ToolCall, params: SearchText) -> Measured[TextSearchResult]:
    query = TextQuery.parse(params.query, params.match)
    kinds = [kind for kind in KINDS if params.kinds is None or kind in params.kinds]
    gathered = await _gather(call, kinds, Window(params.since, params.before))
    found = [
        (record, snippet)
        for source in gathered.values()
        for record in source.records
        if (snippet := query.find(record.text))
    ]
    found.sort(key=lambda hit: hit[0].at, reverse=True)
    by_kind = Counter(record.kind for record, _ in found)
    by_contact = most_common_first(
        Counter(record.contact for record, _ in found if record.contact).most_common(), TOP_CONTACTS
    )

    def build(size: int) -> TextSearchResult:
        shown = found[:size]
        note = _shown(
            len(shown), len(found), "matches", size < params.limit, "kinds, since/before or more words"
        )
        return TextSearchResult(
            total=len(found),
            by_kind={kind: by_kind[kind] for kind in kinds},
            by_contact=by_contact,
            matches=[_match(record, snippet) for record, snippet in shown],
            searched={kind: source.covered for kind, source in gathered.items()},
            complete=all(source.complete for source in gathered.values()),
            note=note,
        )

    return fit(call.settings.max_output_tokens, params.limit, build)


# --- get_caller_timeline --------------------------------------------------------------------------


class CallerTimelineQuery(ToolInput):
    phone: Phone
    since: Day | None = None
    limit: Limit = DEFAULT_PAGE_SIZE


class TimelineEvent(LazyModel):
    kind: Literal["call", "text", "voicemail", "form_submission"]
    at: str
    id: str
    summary: str
    text: UntrustedText | None = Field(None, description="what they said or wrote, shortened")


class CallerTimeline(LazyModel):
    phone: str
    name: UntrustedText | None = None
    counts: dict[str, int]
    total: int
    first_at: str | None = None
    events: list[TimelineEvent] = Field(description="newest first")
    complete: bool = Field(True, description="false: the calls were too many to read them all")
    note: str | None = Field(None, exclude=True)


def _call_summary(item: dict[str, Any]) -> str:
    parts = [
        str(item.get("direction") or "call"),
        str(item.get("status") or ""),
        f"{item['duration_seconds']}s" if item.get("duration_seconds") else "",
        f"on {item['tracking_number']}" if item.get("tracking_number") else "",
        f"({item['call_flow_name']})" if item.get("call_flow_name") else "",
        f"source {item['source']}" if item.get("source") else "",
    ]
    return " ".join(part for part in parts if part)


async def _calls_from(
    call: ToolCall, phone: str, window: Window
) -> tuple[list[TimelineEvent], list[str], bool]:
    """The caller's calls (found by the call log's search, then by exact number), their names, and
    whether every page was read."""
    filters = {**window.api_filters(), "search": phone}
    events: list[TimelineEvent] = []
    names: list[str] = []
    cursor: str | None = None
    for _ in range(text_sources.MAX_CALL_PAGES):
        page = await call.api.calls.page(filters, limit=text_sources.CALL_PAGE, cursor=cursor)
        for item in page.items:
            if text_sources.phone_of(item.get("caller_number")) == phone:
                events.append(
                    TimelineEvent(
                        kind="call",
                        at=str(item.get("created_at") or ""),
                        id=str(item.get("id") or ""),
                        summary=_call_summary(item),
                    )
                )
                names += [item["caller_name"]] if item.get("caller_name") else []
        cursor = page.next_cursor
        if cursor is None:
            return events, names, True
    return events, names, False


def _short(text: str | None) -> str | None:
    return clip(text, TIMELINE_TEXT_CHARS)[0] if text else None


async def get_caller_timeline(call: ToolCall, params: CallerTimelineQuery) -> Measured[CallerTimeline]:
    phone, window = params.phone, Window(params.since)
    calls, names, complete = await _calls_from(call, phone, window)
    thread = [m for m in await call.api.texts.thread(phone) if window.holds(m.get("created_at"))]
    texts = [
        TimelineEvent(
            kind="text",
            at=r.at,
            id=r.id,
            summary=f"{r.direction or 'text'} SMS",
            text=_short(r.text),
        )
        for r in (text_sources.text_record(m, phone) for m in thread)
    ]
    records = [
        r
        for source in (text_sources.voicemails, text_sources.form_submissions)
        for r in (await source(call.api, window)).records
        if r.contact == phone
    ]
    others = [
        TimelineEvent(
            kind="voicemail" if r.kind == "voicemail" else "form_submission",
            at=r.at,
            id=r.id,
            summary="voicemail" if r.kind == "voicemail" else "form submission",
            text=_short(r.text),
        )
        for r in records
    ]
    names += [r.name for r in records if r.name]
    events = sorted([*calls, *texts, *others], key=lambda e: e.at, reverse=True)
    counts = Counter(e.kind for e in events)

    def build(size: int) -> CallerTimeline:
        shown = events[:size]
        return CallerTimeline(
            phone=phone,
            name=Counter(names).most_common(1)[0][0] if names else None,
            counts={
                "calls": counts["call"],
                "texts": counts["text"],
                "voicemails": counts["voicemail"],
                "form_submissions": counts["form_submission"],
            },
            total=len(events),
            first_at=events[-1].at if events else None,
            events=shown,
            complete=complete,
            note=_shown(len(shown), len(events), "events", size < params.limit, "since"),
        )

    return fit(call.settings.max_output_tokens, params.limit, build)


# What each tool of this toolset runs beyond the generic handlers (see cs_mcp/catalogue.py).
TOOLS = {
    "search_text": ToolFunctions(handler=search_text),
    "get_caller_timeline": ToolFunctions(handler=get_caller_timeline),
}
