"""Calls: the call log (server-side filters and paging), one call, its transcription and recording, and
the log as a CSV export.

The call log can hold hundreds of thousands of calls, so list_calls does not fetch it whole: the API
filters and pages it (`limit`, `cursor`), and `GET /analytics/calls` with the same filters counts
every match exactly for the summary and for most groups. Only a sort other than newest first, or a
group the Analytics API cannot make (by caller, or by time in another time zone), reads every
matching call (bounded: see `cs_mcp.call_groups`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, Self

from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import ConfigDict, Field, WithJsonSchema, model_validator

from cs_mcp import call_groups, definitions, dimensions
from cs_mcp.budget import Measured, clip, fit_budget, text_room
from cs_mcp.dimensions import Grouping
from cs_mcp.errors import InvalidRequest, NotFound
from cs_mcp.exports import CsvExport, export_result
from cs_mcp.handlers import ToolCall
from cs_mcp.listing import (
    ListQuery,
    Page,
    build_page,
    group_request,
    grouped_fields,
    page_model,
    page_note,
    page_size,
    project,
    summarise,
)
from cs_mcp.models import ApiObject, BeforeDate, Id, LazyModel, SinceDate, ToolInput, UntrustedText
from cs_mcp.spec import ToolFunctions
from cs_mcp.toolsets.voicemails import Audio, audio_result

CallStatus = Literal["completed", "no-answer", "voicemail", "busy", "failed"]
Direction = Literal["inbound", "outbound"]
# A call lasts at most a day as far as the API's filters go (0-86400 s). The maximum is enforced, not
# published: every viewer session would pay for it in tools/list, and no real question goes near it.
Duration = Annotated[int, Field(ge=0, le=86_400), WithJsonSchema({"type": "integer", "minimum": 0})]
# What the list summary counts, in one analytics request (rows are per combination, folded per field).
SUMMARY_GROUPS = ("status", "source", "direction")
SUMMARY_METRICS = ("count", "avg_duration", "qualified_pct")
# Undeclared call fields that hold the system's or the business's data. Anything else the API adds is
# untrusted, the visitor's utm_* tags (a landing-page URL's query string) first of all.
CALL_SYSTEM_FIELDS = frozenset(
    {
        "created_at",
        "updated_at",
        "direction",
        "tracking_number",
        "destination_number",
        "recording_url",
        "number_id",
        "call_flow_id",
        "call_flow_name",
        "source",
        "ai_category",
    }
)


# --- Models ---------------------------------------------------------------------------------------


class CallFilters(ToolInput):
    """The API's call filters but the date range (compare_periods takes two ranges of its own)."""

    status: CallStatus | None = None
    direction: Direction | None = None
    source: Annotated[str | None, Field(max_length=40, description="e.g. google, facebook, direct")] = None
    number_id: Id | None = None
    call_flow_id: Id | None = None
    min_duration: Annotated[Duration | None, Field(description="seconds")] = None
    max_duration: Duration | None = None
    min_ai_score: Annotated[int | None, Field(ge=0, le=100)] = None
    max_ai_score: Annotated[int | None, Field(ge=0, le=100)] = None
    qualified: bool | None = None
    search: Annotated[
        str | None,
        Field(min_length=1, max_length=60, description="caller, number or flow"),
    ] = None

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        for low, high in (("min_duration", "max_duration"), ("min_ai_score", "max_ai_score")):
            if (a := getattr(self, low)) is not None and (b := getattr(self, high)) is not None and a > b:
                raise ValueError(f"{low} must not exceed {high}")
        return self

    def api_filters(self) -> dict[str, Any]:
        return self.model_dump(
            mode="json", by_alias=True, exclude_none=True, include=set(CallQuery.model_fields)
        )


class CallQuery(CallFilters):
    """The API's call filters; list_calls, export_calls_csv and get_call_analytics share them."""

    since: SinceDate = None
    before: BeforeDate = None

    @model_validator(mode="after")
    def _dates(self) -> Self:
        if self.since and self.before and self.before <= self.since:
            raise ValueError("before must be after since (it is exclusive)")
        return self


def _without_ranges(schema: dict[str, Any]) -> None:
    properties = schema.get("properties", {})
    for name in RANGE_FILTERS:
        properties.pop(name, None)
    for name in EXPLAINED_BY_LIST_CALLS:
        properties.get(name, {}).pop("description", None)


# The tools that take list_calls' filters besides it (export_calls_csv, compare_periods, get_call_analytics)
# accept the duration and AI-score ranges without publishing them, and leave the filters' explanations to
# list_calls' schema: in every session's tools/list they would cost ~75 tokens a tool.
EXPLAINED_BY_LIST_CALLS = ("search", "source")
RANGE_FILTERS = ("min_duration", "max_duration", "min_ai_score", "max_ai_score")
RANGES_UNPUBLISHED = ConfigDict(json_schema_extra=_without_ranges)


class ExportCalls(CallQuery):
    model_config = RANGES_UNPUBLISHED


class ListCalls(CallQuery, ListQuery):
    """The API pages calls itself, newest first; another sort reads every matching call."""


class CallItem(ApiObject):
    trusted_extras = CALL_SYSTEM_FIELDS

    id: str | None = None
    created_at: str | None = None
    direction: str | None = None
    status: str | None = Field(None, description=definitions.STATUS)
    caller_number: str | None = None
    caller_name: UntrustedText | None = None
    tracking_number: str | None = None
    duration_seconds: int | None = None
    source: str | None = None
    ai_score: int | None = None


CallPage = Page[CallItem]
CallExport = CsvExport[CallItem]


class Call(ApiObject):
    """Every field the API sends comes through; those declared here are typed or untrusted, and the
    others untrusted unless they are the system's (CALL_SYSTEM_FIELDS)."""

    trusted_extras = CALL_SYSTEM_FIELDS

    id: str
    status: str | None = Field(None, description=definitions.STATUS)
    caller_number: str | None = None
    caller_name: UntrustedText | None = None
    duration_seconds: int | None = None
    qualified_ai: bool | None = Field(None, description=f"qualified: {definitions.QUALIFIED}")
    summary: UntrustedText | None = None
    transcription: UntrustedText | None = None
    note: str | None = None


class CallId(ToolInput):
    call_id: Id


# Served by cs_mcp/resources.py, which fetches the audio with the server's key when a client reads it.
RECORDING_URI = "callscaler://calls/{call_id}/recording"


class CallRecording(Audio):
    call_id: str


class Transcription(LazyModel):
    call_id: str
    transcription: UntrustedText | None = None
    characters: int = 0
    note: str | None = None


# --- Handlers -------------------------------------------------------------------------------------


def fold(rows: list[dict[str, Any]], field: str) -> dict[str, int]:
    """Per-value counts of one group field from analytics rows grouped by several fields."""
    counts: dict[str, int] = {}
    for row in rows:
        key = str(row.get(field)) if row.get(field) is not None else "(none)"
        counts[key] = counts.get(key, 0) + int(row.get("count") or 0)
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


async def _call_summary(call: ToolCall, filters: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    counted = await call.api.calls.analytics(
        filters, group_by=list(SUMMARY_GROUPS), metrics=list(SUMMARY_METRICS)
    )
    rows, totals = counted.rows, counted.totals
    total = int(totals.get("count") or sum(int(r.get("count") or 0) for r in rows))
    summary: dict[str, Any] = {f"by_{field}": fold(rows, field) for field in SUMMARY_GROUPS}
    summary["avg_duration_seconds"] = totals.get("avg_duration")
    summary["qualified_pct"] = totals.get("qualified_pct")
    return total, summary


NEWEST_FIRST = "-created_at"  # the API's own order


async def list_calls(call: ToolCall, params: ListCalls) -> Measured[CallPage]:
    filters, zone = params.api_filters(), call.settings.time_zone
    total, summary = await _call_summary(call, filters)
    if params.sort not in (None, NEWEST_FIRST):
        return await _sorted_calls(call, params, summary)
    grouping, counted_how = await _call_groups(call, params, filters)

    # A smaller page is asked again from the same cursor, so next_cursor points right after what is shown.
    async def page_of(size: int) -> CallPage:
        page = await call.api.calls.page(filters, limit=size, cursor=params.cursor) if size else None
        shown = page.items if page else []
        return page_model(CallItem, grouping)(
            total=total,
            items=[CallItem.model_validate(project(item, CallItem, params.fields, zone)) for item in shown],
            next_cursor=page.next_cursor if page else None,
            summary=summary,
            note="; ".join(filter(None, [page_note(shown, params, size), counted_how])) or None,
            **grouped_fields(grouping, params, zone),
        )

    return await fit_budget(call.settings.max_output_tokens, page_size(params), page_of)


async def _progress(call: ToolCall, done: int, pages: int) -> None:
    await call.progress(done, pages, f"read {done} of {pages} pages of calls")


async def _call_groups(
    call: ToolCall, params: ListCalls, filters: dict[str, Any]
) -> tuple[Grouping | None, str | None]:
    """The groups asked for, and how they were counted when it was not by the Analytics API."""
    by, top = group_request(params)
    if not by:
        return None, None
    zone = call.settings.time_zone
    counted = await call_groups.count_calls(
        call.api.calls, filters, by, zone, lambda done, pages: _progress(call, done, pages)
    )
    grouping = dimensions.ranked(
        {key: tally.calls for key, tally in counted.groups.items()},
        {key: {"duration_seconds": tally.duration} for key, tally in counted.groups.items()},
        by,
        top,
        counted.totals.calls,
        untrusted=dimensions.untrusted_dimensions(by, CallItem),
    )
    return grouping, counted.how(by)


async def _sorted_calls(call: ToolCall, params: ListCalls, summary: dict[str, Any]) -> Measured[CallPage]:
    """Every matching call read (bounded), then sorted, grouped and paged here under cs_mcp's cursor."""
    found = await call_groups.read_calls(
        call.api.calls,
        params.api_filters(),
        lambda done, pages: _progress(call, done, pages),
        why=f"sorting by {params.sort}",
    )
    assert call.spec.listing is not None

    async def counted_by_the_api(_matching: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        return summary

    return await build_page(
        found,
        params,
        CallItem,
        sums=call.spec.listing.sum,
        more_summary=counted_by_the_api,
        budget_tokens=call.settings.max_output_tokens,
        zone=call.settings.time_zone,
    )


async def get_call(call: ToolCall, params: CallId) -> Call:
    data = await call.api.calls.get(params.call_id)
    text, cut = clip(
        data.get("transcription"), text_room(call.settings.max_output_tokens, reserve_tokens=1200)
    )
    note = "transcription shortened to fit; get_call_transcription has all of it" if cut else None
    return Call.model_validate({**data, "transcription": text, "note": note})


async def get_call_transcription(call: ToolCall, params: CallId) -> Transcription:
    full = await call.api.calls.transcription(params.call_id)
    text, cut = clip(full, text_room(call.settings.max_output_tokens))
    return Transcription(
        call_id=str(params.call_id),
        transcription=text,
        characters=len(full or ""),
        note="cut to fit the output budget" if cut else (None if full else "this call has no transcription"),
    )


async def get_call_recording(call: ToolCall, params: CallId) -> CallToolResult:
    meta = await call.api.calls.get(params.call_id)
    try:
        raw = await call.api.calls.recording(params.call_id)
    except NotFound:
        raise ToolError(
            f"call {params.call_id} has no recording (status {meta.get('status')}, "
            f"{meta.get('duration_seconds')} s): answered calls and voicemails that lasted are recorded"
        ) from None
    info = CallRecording.of(
        raw,
        call_id=str(params.call_id),
        duration_seconds=meta.get("duration_seconds"),
        uri=RECORDING_URI.format(call_id=params.call_id),
    )
    return audio_result(call, raw, info, f"call-{info.call_id}")


def export_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts over every exported call, by the words the instructions define, then by status, source, direction."""
    statuses = Counter(row.get("status") for row in rows)
    return {
        "answered": statuses[definitions.ANSWERED_STATUS],
        "missed": sum(statuses[status] for status in definitions.MISSED_STATUSES),
        "voicemail": statuses[definitions.VOICEMAIL_STATUS],
        "qualified": sum(1 for row in rows if row.get("qualified_ai") == "true"),
        **summarise(rows, ("status", "source", "direction"), ()),
    }


async def export_calls_csv(call: ToolCall, params: ExportCalls) -> CallToolResult:
    try:
        raw = await call.api.calls.export(params.api_filters())
    except InvalidRequest as exc:
        raise ToolError(
            f"{exc} When too many calls match, export in parts: shorter since/before ranges, or more filters."
        ) from None
    return await export_result(
        lambda name, text: call.guardrails.keep_export(call.ctx, name, text),
        raw.content,
        stem="calls",
        row_model=CallItem,
        summary=export_summary,
        budget=call.settings.max_output_tokens,
    )


# What each tool of this toolset runs beyond the generic handlers (see cs_mcp/catalogue.py).
TOOLS = {
    "list_calls": ToolFunctions(handler=list_calls),
    "get_call": ToolFunctions(handler=get_call),
    "get_call_transcription": ToolFunctions(handler=get_call_transcription),
    "get_call_recording": ToolFunctions(handler=get_call_recording),
    "export_calls_csv": ToolFunctions(handler=export_calls_csv),
}
