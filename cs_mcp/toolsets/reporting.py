"""Reporting: the dashboard, call analytics (grouped counts and averages), webhook delivery logs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, Field

from cs_mcp import call_groups, handlers
from cs_mcp.budget import Measured, fit_budget
from cs_mcp.call_groups import Metric
from cs_mcp.dimensions import MAX_GROUP_BY, WEEKDAYS, in_time_zone
from cs_mcp.filters import Before, Match, Since
from cs_mcp.handlers import ToolCall
from cs_mcp.listing import ListQuery, Page
from cs_mcp.models import ApiObject, Day, Id, ToolInput
from cs_mcp.spec import ToolFunctions
from cs_mcp.toolsets.calls import CallQuery

# What get_call_analytics groups by and measures (see cs_mcp.call_groups); the Analytics API's own
# names, which earlier versions of this tool took, still work for the dimensions and metrics they name.
Dimension = Literal[
    "caller_number",
    "caller_area_code",
    "weekday",
    "hour",
    "day",
    "week",
    "month",
    "call_flow",
    "number",
    "source",
    "campaign",
    "status",
    "direction",
]
_API_NAMES = {
    "tracking_number": "number",
    "utm_campaign": "campaign",
    "date": "day",
    "hour_of_day": "hour",
    "day_of_week": "weekday",
    "count": "calls",
    "qualified_pct": "qualified_rate",
}


def _own_names(values: Any) -> Any:
    return (
        [_API_NAMES.get(v, v) if isinstance(v, str) else v for v in values]
        if isinstance(values, list)
        else values
    )


class DashboardQuery(ToolInput):
    period: Literal["today", "7d", "30d", "90d", "all"] = "30d"


class Dashboard(ApiObject):
    """The dashboard's documented figures; anything else the API adds comes through too."""

    period: str | None = None
    total_calls: int | None = None
    answered: int | None = None
    missed: int | None = None
    qualified: int | None = None
    avg_duration_seconds: float | None = None
    top_sources: list[dict[str, Any]] | None = None
    top_numbers: list[dict[str, Any]] | None = None


class AnalyticsQuery(CallQuery):
    group_by: Annotated[
        list[Dimension],
        BeforeValidator(_own_names),
        Field(default_factory=list, max_length=MAX_GROUP_BY, description="none: totals only"),
    ]
    metrics: Annotated[
        list[Metric],
        BeforeValidator(_own_names),
        Field(default_factory=lambda: ["calls"], min_length=1, max_length=len(call_groups.METRICS)),
    ]
    limit: Annotated[int, Field(ge=1, le=200)] = 50


class AnalyticsRow(ApiObject):
    # A row's dimensions and metrics; only a campaign (a visitor's UTM tag) is text from outside.
    trusted_extras = frozenset(get_args(Dimension)) - {"campaign"} | frozenset(get_args(Metric))


class Analytics(BaseModel):
    group_by: list[str]
    rows: list[AnalyticsRow] = Field(description="by calls, most first; by time when grouped by time first")
    rows_total: int
    totals: dict[str, Any]
    computed_from_calls: bool | None = Field(
        None, description="true: the Analytics API cannot group so; counted from every matching call"
    )
    time_zone: str | None = None
    note: str | None = None


NO_VALUE = "(none)"  # a group of calls without the value (no campaign): a row drops a null field


def _rank(by: Sequence[str]) -> Callable[[tuple[tuple[Any, ...], call_groups.Tally]], Any]:
    """Busiest first; in time order when the first dimension is a time (weekdays Monday first)."""
    in_time_order = bool(by) and by[0] in call_groups.TIME_DIMENSIONS

    def key(entry: tuple[tuple[Any, ...], call_groups.Tally]) -> Any:
        values, tally = entry
        when: tuple[int, Any] = (0, 0)
        if in_time_order:
            first = WEEKDAYS.index(values[0]) if values[0] in WEEKDAYS else values[0]
            when = (0, first) if isinstance(first, int) else (1, str(first))
        return (when, -tally.calls, [str(v) for v in values])

    return key


async def get_call_analytics(call: ToolCall, params: AnalyticsQuery) -> Measured[Analytics]:
    by: list[str] = list(params.group_by)
    zone = call.settings.time_zone
    counted = await call_groups.count_calls(
        call.api.calls,
        params.api_filters(),
        by,
        zone,
        lambda done, pages: call.progress(done, pages, f"read {done} of {pages} pages of calls"),
    )
    ordered = sorted(counted.groups.items(), key=_rank(by))
    rows = [
        AnalyticsRow.model_validate(
            {
                **{d: NO_VALUE if v is None else v for d, v in zip(by, key, strict=True)},
                **{m: tally.metric(m) for m in params.metrics},
            }
        )
        for key, tally in ordered
    ] or [AnalyticsRow.model_validate({m: counted.totals.metric(m) for m in params.metrics})]
    totals: dict[str, Any] = {m: counted.totals.metric(m) for m in params.metrics}
    computed = (
        f"counted from the {counted.calls_read} matching calls" if counted.computed_from_calls else None
    )

    async def first(size: int) -> Analytics:
        cut = f"first {size} of {len(rows)} rows; narrow the filters or group by fewer fields"
        return Analytics(
            group_by=by,
            rows=rows[:size],
            rows_total=len(rows),
            totals=totals,
            computed_from_calls=True if counted.computed_from_calls else None,
            time_zone=str(zone) if in_time_zone(by) else None,
            note="; ".join(filter(None, [cut if size < len(rows) else None, computed])) or None,
        )

    return await fit_budget(call.settings.max_output_tokens, min(params.limit, len(rows)), first)


class Delivery(ApiObject):
    trusted_extras = frozenset({"url", "duration_ms"})  # the business's own endpoint, and timing

    id: str | None = None
    created_at: str | None = None
    call_id: str | None = None
    event: str | None = None
    status_code: int | None = None
    success: bool | None = None
    attempt: int | None = None
    error: str | None = None


DeliveryPage = Page[Delivery]


class ListDeliveries(ListQuery):
    outcome: Annotated[Literal["success", "failed"] | None, Match("outcome")] = None
    status_code: Annotated[int | None, Field(ge=100, le=599), Match("status_code")] = None
    call_id: Annotated[Id | None, Match("call_id")] = None
    event: Annotated[str | None, Field(max_length=60), Match("event")] = None
    since: Annotated[Day | None, Since("created_at")] = None
    before: Annotated[Day | None, Before("created_at")] = None


async def list_webhook_deliveries(call: ToolCall, params: ListDeliveries) -> Measured[Any]:
    """The whole log (read in pages), filtered and summarised, with failures counted by status code."""
    items = await call.api.webhooks.deliveries()
    for item in items:  # `outcome` names the filter the way people ask ("failed deliveries")
        item["outcome"] = "success" if item.get("success") else "failed"
    return await handlers.list_items(call, params, items, more_summary=_failures)


def _failures(matching: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    failed = (i.get("status_code") or "no response" for i in matching if i["outcome"] == "failed")
    return {"failed_by_status_code": dict(Counter(map(str, failed)).most_common(8))}


# What each tool of this toolset runs beyond the generic handlers (see cs_mcp/catalogue.py).
TOOLS = {
    "get_call_analytics": ToolFunctions(handler=get_call_analytics),
    "list_webhook_deliveries": ToolFunctions(handler=list_webhook_deliveries),
}
