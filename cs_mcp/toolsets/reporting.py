"""Reporting: the dashboard, call analytics (grouped counts and averages), webhook delivery logs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from cs_mcp import handlers
from cs_mcp.budget import Measured, fit_budget
from cs_mcp.filters import Before, Match, Since
from cs_mcp.handlers import ToolCall
from cs_mcp.listing import ListQuery, Page
from cs_mcp.models import ApiObject, Day, Id, ToolInput
from cs_mcp.spec import ToolFunctions
from cs_mcp.toolsets.calls import CallQuery

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
    "list_webhook_deliveries": ToolFunctions(handler=list_webhook_deliveries),
}
