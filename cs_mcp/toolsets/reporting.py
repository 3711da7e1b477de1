"""Reporting: the dashboard, call analytics (grouped counts and averages), one metric over two periods,
webhook delivery logs."""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, Field, model_validator

from cs_mcp import call_groups, definitions, handlers
from cs_mcp.budget import Measured, fit_budget
from cs_mcp.call_groups import Metric
from cs_mcp.dimensions import MAX_GROUP_BY, WEEKDAYS, in_time_zone, shown, value_of
from cs_mcp.filters import Before, Match, Since
from cs_mcp.handlers import ToolCall
from cs_mcp.listing import ListQuery, Page, slices, unpublished_default
from cs_mcp.models import ApiObject, Day, Id, LazyModel, ToolInput
from cs_mcp.spec import ToolFunctions
from cs_mcp.toolsets.calls import RANGES_UNPUBLISHED, CallFilters, CallQuery

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

    period: str | None = Field(None, description=definitions.PERIOD)
    total_calls: int | None = None
    answered: int | None = Field(None, description=definitions.ANSWERED)
    missed: int | None = Field(None, description=definitions.MISSED)
    qualified: int | None = Field(None, description=definitions.QUALIFIED)
    avg_duration_seconds: float | None = Field(None, description=definitions.AVG_DURATION)
    top_sources: list[dict[str, Any]] | None = None
    top_numbers: list[dict[str, Any]] | None = None


class AnalyticsQuery(CallQuery):
    model_config = RANGES_UNPUBLISHED  # list_calls publishes them; grouping questions rarely need them

    group_by: Annotated[
        list[Dimension],
        BeforeValidator(_own_names),
        Field(default_factory=list, max_length=MAX_GROUP_BY),
    ]
    metrics: Annotated[
        list[Metric],
        BeforeValidator(_own_names),
        Field(default_factory=lambda: ["calls"], min_length=1, max_length=len(call_groups.METRICS)),
    ]
    limit: Annotated[int, Field(ge=1, le=200, json_schema_extra=unpublished_default)] = 50
    # "On Saturdays, which hour...": the calls of one weekday (business time zone), counted from pages.
    weekday: Literal[WEEKDAYS] | None = None  # type: ignore[valid-type]


class AnalyticsRow(ApiObject):
    # A row's dimensions and metrics; only a campaign (a visitor's UTM tag) is text from outside.
    trusted_extras = frozenset(get_args(Dimension)) - {"campaign"} | frozenset(get_args(Metric))


class Analytics(LazyModel):
    group_by: list[str]
    rows: list[AnalyticsRow] = Field(description="by calls, most first; by time when grouped by time first")
    rows_total: int
    totals: dict[str, Any]
    computed_from_calls: bool | None = Field(
        None, description="true: the Analytics API cannot group so; counted from every matching call"
    )
    time_zone: str | None = None
    note: str | None = None


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
        keep=(lambda item: value_of(item, "weekday", zone) == params.weekday) if params.weekday else None,
    )
    # Rows only for the most a page may show: by caller there can be tens of thousands of groups.
    ordered = heapq.nsmallest(params.limit, counted.groups.items(), key=_rank(by))
    rows = [
        AnalyticsRow.model_validate(
            {
                **{d: shown(v) for d, v in zip(by, key, strict=True)},
                **{m: tally.metric(m) for m in params.metrics},
            }
        )
        for key, tally in ordered
    ] or [AnalyticsRow.model_validate({m: counted.totals.metric(m) for m in params.metrics})]
    rows_total = len(counted.groups) or len(rows)
    totals: dict[str, Any] = {m: counted.totals.metric(m) for m in params.metrics}
    computed = counted.how(by, f"keep {params.weekday}s only" if params.weekday else None)

    async def first(size: int) -> Analytics:
        cut = f"first {size} of {rows_total} rows; narrow the filters or group by fewer fields"
        return Analytics(
            group_by=by,
            rows=rows[:size],
            rows_total=rows_total,
            totals=totals,
            computed_from_calls=True if counted.computed_from_calls else None,
            time_zone=str(zone) if in_time_zone(by) else None,
            note="; ".join(filter(None, [cut if size < rows_total else None, computed])) or None,
        )

    return await fit_budget(call.settings.max_output_tokens, min(params.limit, len(rows)), first)


# --- compare_periods ----------------------------------------------------------------------------------

METRIC_MEANINGS = {
    "calls": "every matching call",
    "answered": definitions.ANSWERED,
    "missed": definitions.MISSED,
    "voicemail": definitions.VOICEMAIL,
    "qualified": definitions.QUALIFIED,
    "answer_rate": definitions.ANSWER_RATE,
    "qualified_rate": definitions.QUALIFIED_RATE,
    "avg_duration": definitions.AVG_DURATION,
    "avg_duration_answered": definitions.AVG_DURATION_ANSWERED,
}
QUALIFIED_METRICS = frozenset({"qualified", "qualified_rate"})


class ComparePeriods(CallFilters):
    model_config = RANGES_UNPUBLISHED

    metric: call_groups.Metric
    first_since: Day
    first_before: Day
    second_since: Day
    second_before: Day

    @model_validator(mode="after")
    def _periods(self) -> ComparePeriods:
        for period in ("first", "second"):
            if getattr(self, f"{period}_before") <= getattr(self, f"{period}_since"):
                raise ValueError(f"{period}_before must be after {period}_since (it is exclusive)")
        return self


class Comparison(LazyModel):
    metric: str
    meaning: str = Field(description="what the metric counts, as get_capabilities defines it")
    first: float = Field(description="the metric from first_since to first_before")
    second: float = Field(description="the metric from second_since to second_before")
    change: float = Field(description="second - first")
    change_pct: float | None = Field(description="100 * change / first, 1 decimal; absent when first is 0")


async def _metric_over(call: ToolCall, filters: dict[str, Any], metric: str) -> int | float:
    """`metric` over the calls matching `filters`, from the API's documented analytics: counts per status
    (with their mean durations), and the count of qualified calls (the `qualified` filter)."""
    counted = await call.api.calls.analytics(filters, group_by=["status"], metrics=["count", "avg_duration"])
    statuses = {str(row.get("status")): row for row in counted.rows}
    calls = int(counted.totals.get("count") or sum(int(row.get("count") or 0) for row in counted.rows))

    def count(*names: str) -> int:
        return sum(int(statuses.get(name, {}).get("count") or 0) for name in names)

    def share(part: int) -> float:
        return round(100 * part / calls, 1) if calls else 0.0

    answered = count(definitions.ANSWERED_STATUS)
    match metric:
        case "calls":
            return calls
        case "answered":
            return answered
        case "missed":
            return count(*definitions.MISSED_STATUSES)
        case "voicemail":
            return count(definitions.VOICEMAIL_STATUS)
        case "answer_rate":
            return share(answered)
        case "avg_duration":
            return float(counted.totals.get("avg_duration") or 0.0)
        case "avg_duration_answered":
            return float(statuses.get(definitions.ANSWERED_STATUS, {}).get("avg_duration") or 0.0)
    if "qualified" in filters:  # the filter already decides which calls are qualified
        qualified = calls if filters["qualified"] else 0
    else:
        flagged = await call.api.calls.analytics(
            {**filters, "qualified": True}, group_by=[], metrics=["count"]
        )
        qualified = int(flagged.totals.get("count") or 0)
    return qualified if metric == "qualified" else share(qualified)


async def compare_periods(call: ToolCall, params: ComparePeriods) -> Comparison:
    filters = params.api_filters()
    first, second = [
        await _metric_over(
            call,
            {**filters, "start_date": since.isoformat(), "end_date": before.isoformat()},
            params.metric,
        )
        for since, before in (
            (params.first_since, params.first_before),
            (params.second_since, params.second_before),
        )
    ]
    change = round(second - first, 1)
    return Comparison(
        metric=params.metric,
        meaning=METRIC_MEANINGS[params.metric],
        first=first,
        second=second,
        change=change,
        change_pct=round(100 * change / first, 1) if first else None,
    )


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
    # `outcome` names the filter the way people ask ("failed deliveries"); a slice at a time, as the log
    # runs to tens of thousands.
    async for part in slices(items):
        for item in part:
            item["outcome"] = "success" if item.get("success") else "failed"
    return await handlers.list_items(call, params, items, more_summary=_failures)


async def _failures(matching: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    # A slice at a time (one pass over 37,000 deliveries holds the loop 9 ms); counted as the API gives
    # them, then named.
    codes: Counter[Any] = Counter()
    async for part in slices(matching):
        codes.update([i.get("status_code") for i in part if i["outcome"] == "failed"])
    named: Counter[str] = Counter()
    for code, count in codes.items():
        named[str(code or "no response")] += count
    return {"failed_by_status_code": dict(named.most_common(8))}


# What each tool of this toolset runs beyond the generic handlers (see cs_mcp/catalogue.py).
TOOLS = {
    "get_call_analytics": ToolFunctions(handler=get_call_analytics),
    "compare_periods": ToolFunctions(handler=compare_periods),
    "list_webhook_deliveries": ToolFunctions(handler=list_webhook_deliveries),
}
