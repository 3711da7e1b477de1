"""Calls: the call log (filters, cursor paging), its CSV export, one call, its recording and
transcription, analytics."""

from __future__ import annotations

import base64
from functools import partial
from typing import Any

from starlette.responses import JSONResponse, Response

from cs_mcp.sandbox.answers import audio, csv_file
from cs_mcp.sandbox.calls import (
    DURATION,
    GROUP_FIELDS,
    ID,
    MAX_GROUP_BY,
    MAX_LIMIT,
    METRICS,
    CallFilters,
    Row,
    has_recording,
)
from cs_mcp.sandbox.calls import analytics as call_analytics
from cs_mcp.sandbox.formats import is_uuid
from cs_mcp.sandbox.resources.number_groups import group_member_ids
from cs_mcp.sandbox.routes import Req, RouteTable
from cs_mcp.sandbox.store import Store
from cs_mcp.sandbox.validation import ApiError, Fields, not_found

EXPORT_COLUMNS = (
    "id",
    "created_at",
    "direction",
    "status",
    "caller_number",
    "caller_name",
    "caller_city",
    "caller_state",
    "tracking_number",
    "number_id",
    "destination_number",
    "duration_seconds",
    "call_flow_name",
    "source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "gclid",
    "landing_page_url",
    "ai_score",
    "ai_category",
    "qualified_ai",
    "robo_risk_score",
    "cost_cents",
    "value_cents",
    "has_recording",
    "recording_url",
)
MAX_EXPORT_ROWS = 100_000  # about 35 MB of CSV: past that, narrow the filters
MAX_PAGE = 1_000_000

routes = RouteTable()


@routes.get("/calls")
def list_calls(store: Store, req: Req) -> dict[str, Any]:
    """One page of the matching calls. An older docs page's page/per_page stand for offset/limit."""
    query = req.query
    filters = _filters(store, req)
    per_page = query.sent_as("limit", "per_page")
    limit = query.integer(per_page, default=50, minimum=1, maximum=MAX_LIMIT)
    if query.sent_as("offset", "page") == "page":
        page = query.integer("page", default=1, minimum=1, maximum=MAX_PAGE)
        offset = (page - 1) * limit
    else:
        offset = query.integer("offset", default=0, minimum=0)
    if query.present("cursor"):  # a cursor wins over offset
        offset = _decode_cursor(query)
    table = store.state["calls"]
    rows = filters.select(table)
    more = offset + limit < len(rows)
    answer = {
        "calls": [table.as_dict(row, req.base_url) for row in rows[offset : offset + limit]],
        "total": len(rows),
        "has_more": more,
        "next_cursor": _encode_cursor(offset + limit) if more else None,
    }
    if query.present("page") or query.present("per_page"):  # as GET /numbers answers them
        answer.update(page=offset // limit + 1, per_page=limit)
    return answer


@routes.get("/calls/export")
def export_calls(store: Store, req: Req) -> Response:
    """Every call the filters match, newest first, as CSV (no paging); 422 past MAX_EXPORT_ROWS."""
    table = store.state["calls"]
    rows = _filters(store, req).select(table)
    if len(rows) > MAX_EXPORT_ROWS:
        raise ApiError(
            422,
            f"The filters match {len(rows)} calls; an export holds at most {MAX_EXPORT_ROWS}."
            " Narrow it (start_date/end_date or other filters) and export in parts.",
            total=len(rows),
            max_rows=MAX_EXPORT_ROWS,
        )
    return csv_file("calls.csv", EXPORT_COLUMNS, (table.as_dict(row, req.base_url) for row in rows))


@routes.get("/calls/{id}")
def get_call(store: Store, req: Req) -> dict[str, Any]:
    return store.state["calls"].detail(_call(store, req), req.base_url)


@routes.get("/calls/{id}/recording")
def call_recording(store: Store, req: Req) -> Response:
    row = _call(store, req)
    if not has_recording(row):
        raise ApiError(404, f"Call {row[ID]} has no recording")
    return audio(row[DURATION])


@routes.get("/calls/{id}/transcription")
def call_transcription(store: Store, req: Req) -> Response:
    """A legacy endpoint: the bare body, without the data envelope."""
    row = _call(store, req)
    _, transcription = store.state["calls"].narrate(row)
    if transcription is None:
        raise ApiError(404, f"Call {row[ID]} has no transcription")
    return JSONResponse({"call_id": row[ID], "transcription": transcription})


@routes.get("/analytics/calls")
def analytics(store: Store, req: Req) -> dict[str, Any]:
    filters = _filters(store, req)
    group_by = req.query.csv("group_by", GROUP_FIELDS, default=[], max_items=MAX_GROUP_BY)
    metrics = req.query.csv("metrics", METRICS, default=["count"], max_items=len(METRICS))
    table = store.state["calls"]
    return call_analytics(table, filters.select(table), group_by, metrics)


def _filters(store: Store, req: Req) -> CallFilters:
    return CallFilters.parse(req.query, partial(group_member_ids, store))


def _call(store: Store, req: Req) -> Row:
    ident = req.params["id"]
    row = store.state["calls"].find(ident) if is_uuid(ident) else None
    if row is None:
        raise not_found("call", ident)
    return row


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"calls:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(query: Fields) -> int:
    cursor = query.values["cursor"]
    try:
        prefix, _, offset = (
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition(":")
        )
        if prefix == "calls" and offset.isdigit():
            return int(offset)
    except ValueError:
        pass
    query.fail("cursor", "is not a cursor this API issued (use next_cursor from the previous page)")
