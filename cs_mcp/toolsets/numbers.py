"""Tracking numbers: inventory, stats, search, purchase, update, release."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import BaseModel, Field, model_validator

from cs_mcp import routing
from cs_mcp.api.models import Number, Released
from cs_mcp.exports import CsvFile, csv_result
from cs_mcp.filters import Contains, Match, NonZero
from cs_mcp.guardrails.preview import ConfirmedInput, GuardrailError, Preview
from cs_mcp.handlers import ToolCall
from cs_mcp.listing import ListQuery, Page, summarise
from cs_mcp.models import ApiObject, BeforeDate, Id, Name, Phone, SinceDate, ToolInput
from cs_mcp.spec import ToolFunctions

__all__ = ["CsvFile", "Number", "Released"]  # re-exported: the catalogue names them in this toolset

NumberStatus = Literal["active", "paused"]
NumberType = Literal["local", "toll_free"]


class NumberItem(ApiObject):
    # Every field optional: `fields=` may pick any of them, or none.
    id: str | None = None
    phone_number: str | None = None
    name: str | None = None
    status: str | None = None
    call_flow_name: str | None = None
    total_calls: int | None = None


NumberPage = Page[NumberItem]


class ListNumbers(ListQuery):
    status: Annotated[NumberStatus | None, Match("status")] = None
    type: Annotated[NumberType | None, Match("type")] = None
    call_flow_id: Annotated[Id | None, Match("call_flow_id")] = None
    contains: Annotated[
        str | None, Field(max_length=60, description="in name or number"), Contains(("name", "phone_number"))
    ] = None
    has_calls: Annotated[bool | None, NonZero("total_calls")] = None
    sms_enabled: Annotated[bool | None, Match("sms_enabled")] = None


class GetNumber(ToolInput):
    number: Annotated[str, Field(min_length=1, max_length=120)]


class NoArguments(ToolInput):
    pass


class BulkStats(ApiObject):
    total_numbers: int
    active: int | None = None
    paused: int | None = None
    total_calls: int | None = None
    calls_last_30_days: int | None = None
    by_type: dict[str, int] | None = None


class NumberStatsInput(ToolInput):
    number_id: Id
    since: SinceDate = None
    before: BeforeDate = None


class DayCount(ApiObject):
    date: str
    calls: int


class WeekCount(ApiObject):
    week: str = Field(description="Monday starting the week")
    calls: int


class NumberStats(ApiObject):
    number_id: str
    total_calls: int
    answered: int | None = None
    missed: int | None = None
    voicemails: int | None = None
    avg_duration_seconds: float | None = None
    qualified: int | None = None
    by_day: list[DayCount] | None = None
    by_week: list[WeekCount] | None = Field(None, description="instead of by_day over long ranges")


# Beyond about two months, days with calls outgrow the output budget at scale: weeks keep the shape.
MAX_DAYS_LISTED = 62


class SearchNumbers(ToolInput):
    area_code: Annotated[str, Field(pattern=r"^[2-9][0-9]{2}$", description="3 digits, e.g. 813")]
    type: NumberType = "local"
    contains: Annotated[str | None, Field(pattern=r"^[0-9]{1,7}$")] = None
    limit: Annotated[int, Field(ge=1, le=30)] = 10


class AvailableNumber(ApiObject):
    phone_number: str
    friendly_name: str | None = None
    locality: str | None = None
    region: str | None = None
    type: str | None = None
    monthly_cost_cents: int | None = None


class AvailableNumbers(BaseModel):
    numbers: list[AvailableNumber]


class PurchaseNumber(ConfirmedInput):
    phone_number: Annotated[Phone, Field(description="from search_available_numbers")]
    name: Name | None = None
    call_flow_id: Id | None = None


class UpdateNumber(ConfirmedInput):
    number_id: Id
    name: Name | None = None
    call_flow_id: Id | None = None
    status: NumberStatus | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> UpdateNumber:
        if self.name is None and self.call_flow_id is None and self.status is None:
            raise ValueError("give at least one of name, call_flow_id, status")
        return self


class ReleaseNumber(ConfirmedInput):
    number_id: Id


async def find_number(call: ToolCall, reference: str) -> Number:
    """One number by id, E.164 number or exact name (the API has no single-number endpoint)."""
    found = await call.api.numbers.find(reference)
    wanted = reference.strip()
    if len(found) == 1:
        return found[0]
    if found:
        candidates = ", ".join(f"{n.phone_number} ({n.id})" for n in found[:10])
        raise ToolError(
            f"{len(found)} numbers are named {wanted!r}: {candidates}. Ask again with the id or phone number."
        )
    raise ToolError(
        f"No number matches {wanted!r} by id, phone number or exact name. Try list_numbers with contains=."
    )


async def get_number(call: ToolCall, params: GetNumber) -> Number:
    return await find_number(call, params.number)


async def export_numbers_csv(call: ToolCall, params: NoArguments) -> CallToolResult:
    """The CSV never goes into the conversation whole unless it fits: see `cs_mcp.exports`."""
    raw = await call.api.numbers.export()
    return csv_result(
        "numbers",
        raw.content.decode("utf-8", errors="replace"),
        lambda rows: summarise(rows, ("status", "type"), ()),
        call.settings.max_output_tokens,
    )


async def preview_purchase_number(call: ToolCall, params: PurchaseNumber) -> Preview:
    offer = await call.api.numbers.offer(params.phone_number)
    if offer is None:
        raise GuardrailError(
            f"{params.phone_number} is not available to buy; use search_available_numbers to find one."
        )
    cost = offer.get("monthly_cost_cents")
    flow = str(params.call_flow_id) if params.call_flow_id else "none yet"
    return Preview(
        action=f"Buy {params.phone_number} ({offer.get('locality') or offer.get('region') or 'unknown area'}) "
        f"for {cost / 100:.2f} USD a month"
        if cost is not None
        else f"Buy {params.phone_number}",
        details={"name": params.name or "(none)", "call_flow_id": flow, "type": offer.get("type")},
        monthly_cost_cents=cost,
    )


async def purchase_number(call: ToolCall, params: PurchaseNumber) -> Number:
    flow = str(params.call_flow_id) if params.call_flow_id else None
    return await call.api.numbers.purchase(params.phone_number, name=params.name, call_flow_id=flow)


async def reconcile_purchase_number(call: ToolCall, params: PurchaseNumber, _snapshot: None) -> Number | None:
    """After a lost purchase answer: the number, if GET /numbers now lists it."""
    return await call.api.numbers.by_phone(params.phone_number)


async def preview_update_number(call: ToolCall, params: UpdateNumber) -> Preview:
    """Renames and pauses need no confirmation; a new call flow does when it reroutes calls."""
    changes = params.model_dump(mode="json", exclude_none=True, exclude={"number_id", "confirmation_token"})
    if params.call_flow_id is None:
        return Preview(action=f"Update number {params.number_id}", details=changes, required=False)
    number = await find_number(call, str(params.number_id))
    old_flow, new_flow = number.call_flow_id, str(params.call_flow_id)
    if str(old_flow) == new_flow:
        return Preview(action=f"Update {number.phone_number}", details=changes, required=False)
    return routing.reroute_preview(
        f"Route {number.phone_number} ({number.name or 'unnamed'}) from "
        f"{number.call_flow_name or 'no flow'} to call flow {new_flow}",
        before=await routing.flow_destinations(call, old_flow),
        after=await routing.flow_destinations(call, new_flow),
        own=await routing.own_numbers(call),
        moved_calls=number.total_calls or 0,
    )


async def _calls_last_30_days(call: ToolCall, number_id: str) -> int | None:
    start = (datetime.now(UTC) - timedelta(days=30)).date()
    return (await call.api.numbers.stats(number_id, start_date=start)).get("total_calls")


async def preview_release_number(call: ToolCall, params: ReleaseNumber) -> Preview:
    number = await find_number(call, str(params.number_id))
    recent = await _calls_last_30_days(call, number.id)
    return Preview(
        action=f"Release {number.phone_number} ({number.name or 'unnamed'}): it leaves the account for good",
        details={
            "call_flow": number.call_flow_name or "(none)",
            "calls_last_30_days": recent,
            "total_calls": number.total_calls,
        },
        irreversible=True,
    )


async def release_number(call: ToolCall, params: ReleaseNumber) -> Released:
    return await call.api.numbers.release(params.number_id)


async def get_number_stats(call: ToolCall, params: NumberStatsInput) -> NumberStats:
    answer = await call.api.numbers.stats(params.number_id, start_date=params.since, end_date=params.before)
    stats = NumberStats.model_validate(answer)
    if stats.by_day and len(stats.by_day) > MAX_DAYS_LISTED:
        weeks: dict[str, int] = {}
        for day in stats.by_day:
            monday = date.fromisoformat(day.date[:10]) - timedelta(
                days=date.fromisoformat(day.date[:10]).weekday()
            )
            weeks[monday.isoformat()] = weeks.get(monday.isoformat(), 0) + day.calls
        stats.by_week = [WeekCount(week=week, calls=calls) for week, calls in sorted(weeks.items())]
        stats.by_day = None
    return stats


# What each tool of this toolset runs beyond the generic handlers (see cs_mcp/catalogue.py).
TOOLS = {
    "get_number": ToolFunctions(handler=get_number),
    "get_number_stats": ToolFunctions(handler=get_number_stats),
    "export_numbers_csv": ToolFunctions(handler=export_numbers_csv),
    "purchase_number": ToolFunctions(
        handler=purchase_number, preview=preview_purchase_number, reconcile=reconcile_purchase_number
    ),
    "update_number": ToolFunctions(preview=preview_update_number),
    "release_number": ToolFunctions(handler=release_number, preview=preview_release_number),
}
