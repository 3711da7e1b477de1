"""Reporting: the dashboard, call analytics (grouped counts and averages), one metric over two periods,
webhook delivery logs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from cs_mcp import definitions, handlers
from cs_mcp.budget import Measured, fit_budget
from cs_mcp.filters import Before, Match, Since
from cs_mcp.handlers import ToolCall
from cs_mcp.listing import ListQuery, Page
from cs_mcp.models import ApiObject, Day, Id, ToolInput
from cs_mcp.spec import ToolFunctions
from cs_mcp.toolsets.calls import RANGES_UNPUBLISHED, CallFilters, CallQuery

# The group_by fields the Analytics API documents (up to 3 per request).
GroupField = Literal[
    "source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "call_flow",
    "call_flow_id",
    "tracking_number",
    "number_id",
    "ai_category",
    "status",
    "direction",
    "date",
    "week",
    "month",
    "hour_of_day",
    "day_of_week",
]
Metric = Literal["count", "avg_duration", "qualified_pct", "avg_ai_score", "total_duration", "missed"]


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
    group_by: Annotated[
        list[GroupField], Field(default_factory=list, max_length=3, description="none: totals only")
    ]
    metrics: Annotated[list[Metric], Field(default_factory=lambda: ["count"], min_length=1, max_length=6)]
    limit: Annotated[int, Field(ge=1, le=200)] = 50


class AnalyticsRow(ApiObject):
    pass


class Analytics(BaseModel):
    group_by: list[str]
    rows: list[AnalyticsRow]
    rows_total: int
    totals: dict[str, Any]
    note: str | None = None


async def get_call_analytics(call: ToolCall, params: AnalyticsQuery) -> Measured[Analytics]:
    counted = await call.api.calls.analytics(
        params.api_filters(), group_by=list(params.group_by), metrics=list(params.metrics)
    )
    rows = [AnalyticsRow.model_validate(r) for r in counted.rows]
    totals = counted.totals

    async def first(size: int) -> Analytics:
        note = f"first {size} of {len(rows)} rows; narrow the filters or group by fewer fields"
        return Analytics(
            group_by=list(params.group_by),
            rows=rows[:size],
            rows_total=len(rows),
            totals=totals,
            note=note if size < len(rows) else None,
        )

    return await fit_budget(call.settings.max_output_tokens, min(params.limit, len(rows)), first)


# --- compare_periods ----------------------------------------------------------------------------------

CompareMetric = Literal[
    "calls",
    "answered",
    "missed",
    "voicemail",
    "qualified",
    "answer_rate",
    "qualified_rate",
    "avg_duration",
    "avg_duration_answered",
]
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

    metric: CompareMetric
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


class Comparison(BaseModel):
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
    "compare_periods": ToolFunctions(handler=compare_periods),
    "list_webhook_deliveries": ToolFunctions(handler=list_webhook_deliveries),
}
