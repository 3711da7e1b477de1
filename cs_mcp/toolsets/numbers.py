"""Tracking numbers: inventory, stats, search, purchase, update, release."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult
from pydantic import AfterValidator, Field, model_validator

from cs_mcp import fan_out, flows, routing
from cs_mcp.api.models import Number, Released
from cs_mcp.errors import CallScalerError, WriteOutcomeUnknown
from cs_mcp.exports import CsvExport, export_result
from cs_mcp.filters import Contains, Match, NonZero
from cs_mcp.guardrails.acting import OutcomeUnknown
from cs_mcp.guardrails.preview import ConfirmedInput, GuardrailError, Preview
from cs_mcp.handlers import ToolCall
from cs_mcp.listing import ListQuery, Page, summarise
from cs_mcp.models import ApiObject, BeforeDate, Id, LazyModel, Name, Phone, SinceDate, ToolInput
from cs_mcp.spec import ToolFunctions

__all__ = ["Number", "Released"]  # re-exported: the catalogue names them in this toolset

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
NumberExport = CsvExport[NumberItem]


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


class AvailableNumbers(LazyModel):
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
    """The file kept and linked, a summary and its first rows inline: see `cs_mcp.exports`."""
    raw = await call.api.numbers.export()
    return await export_result(
        lambda name, text: call.guardrails.keep_export(call.ctx, name, text),
        raw.content,
        stem="numbers",
        row_model=NumberItem,
        summary=lambda rows: summarise(rows, ("status", "type"), ()),
        budget=call.settings.max_output_tokens,
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


# --- reassign_numbers -----------------------------------------------------------------------------

MAX_REASSIGNED = 100  # numbers one call moves; every one is listed in the preview


def _distinct_ids(ids: list[UUID]) -> list[UUID]:
    # A set, in one order: the same numbers given in another order or twice are the same change (and token).
    return sorted(set(ids), key=str)


class ReassignNumbers(ConfirmedInput):
    number_ids: Annotated[
        list[Id], Field(min_length=1, max_length=MAX_REASSIGNED), AfterValidator(_distinct_ids)
    ]
    call_flow_id: Id


class MovedNumber(LazyModel):
    id: str
    phone_number: str
    name: str | None = None
    from_flow: str | None = None


class Reassigned(LazyModel):
    call_flow_id: str
    call_flow_name: str | None = None
    moved: list[MovedNumber]
    already_there: list[str] = Field(
        default_factory=list, description="numbers that were on the flow already"
    )


def _label(number: Number) -> str:
    return f"{number.phone_number} ({number.name or 'unnamed'})"


async def _numbers_by_id(call: ToolCall, ids: list[UUID]) -> list[Number]:
    """The numbers `ids` name, from one read of the list; refused, naming them, if any is not the business's."""
    listed = {str(n.get("id", "")).lower(): n for n in await call.api.numbers.list()}
    missing = [str(i) for i in ids if str(i) not in listed]
    if missing:
        raise GuardrailError(
            f"Not numbers of this business: {', '.join(missing)}. Nothing was done; check the ids with list_numbers."
        )
    return [Number.model_validate(listed[str(i)]) for i in ids]


async def preview_reassign_numbers(call: ToolCall, params: ReassignNumbers) -> Preview:
    """One preview of every number's move, grouped by the flow it leaves: its calls, and where calls ring
    before and after. Confirmation is needed as for update_number: when a moved number carries calls, or
    a number's calls would ring an outside number its flow did not ring."""
    numbers = await _numbers_by_id(call, params.number_ids)
    target = await call.api.call_flows.get(params.call_flow_id)
    target_name = target.name or target.id
    moving = [n for n in numbers if str(n.call_flow_id or "") != target.id]
    sources = list(dict.fromkeys(n.call_flow_id for n in moving))
    rung_before = await fan_out.gather(lambda flow_id: routing.flow_destinations(call, flow_id), sources)
    after = flows.destinations(target.config)
    own = {str(n.get("phone_number")) for n in await call.api.numbers.list()}
    details: dict[str, Any] = {"to_flow": target_name}
    outside: dict[str, None] = {}  # each group's new outside numbers, as the routing preview lists them
    required = False
    for source, before in zip(sources, rung_before, strict=True):
        group = [n for n in moving if n.call_flow_id == source]
        calls = sum(n.total_calls or 0 for n in group)
        change = routing.reroute_preview("", before=before, after=after, own=own, moved_calls=calls)
        details.setdefault("calls_would_ring", change.details["calls_would_ring"])
        lines = "; ".join(f"{_label(n)} {n.total_calls or 0} calls" for n in group)
        details[f"from {group[0].call_flow_name or source or 'no flow'}"] = (
            f"{lines}. Calls ring now: {change.details['calls_ring_now']}"
        )
        if change.details["new_outside_numbers"]:
            outside[change.details["new_outside_numbers"]] = None
        required = required or change.required
    already = [n for n in numbers if n not in moving]
    if already:
        details["already_on_it"] = ", ".join(_label(n) for n in already)
    moved_calls = sum(n.total_calls or 0 for n in moving)
    warnings = (
        [f"calls would ring {' / '.join(outside)}, outside the business and not rung before"]
        if outside
        else []
    )
    warnings += [f"numbers that have taken {moved_calls} calls move to another flow"] if moved_calls else []
    action = f"Route {len(moving)} number{'s' if len(moving) != 1 else ''} to {target_name}"
    return Preview(
        action=action + (f" ({'; '.join(warnings)})" if warnings else ""), details=details, required=required
    )


async def _on_flow(call: ToolCall, number_id: str, flow_id: str) -> bool:
    """Whether the number is on the flow now, looked at twice a moment apart (a write in flight lands late)."""
    actor = call.guardrails.actor
    for attempt in range(2):
        if attempt:
            await actor.sleep(actor.recheck_delay)
        found = next((n for n in await call.api.numbers.list() if str(n.get("id")) == number_id), None)
        if found is not None and str(found.get("call_flow_id")) == flow_id:
            return True
    return False


def _stopped(moved: list[Number], flow: str, failed: Number, why: str, rest: list[Number]) -> str:
    """What a reassignment that stopped part-way did and did not do, number by number."""
    done = (
        f"Moved to {flow} ({len(moved)}): {', '.join(_label(n) for n in moved)}."
        if moved
        else "No number was moved."
    )
    untouched = f" Not attempted, still on their flows: {', '.join(_label(n) for n in rest)}." if rest else ""
    return (
        f"reassign_numbers stopped part-way. {done} {_label(failed)}: {why}.{untouched} Nothing was retried; "
        "call reassign_numbers again with the numbers not moved (it previews again)."
    )


async def reassign_numbers(call: ToolCall, params: ReassignNumbers) -> Reassigned:
    """One PATCH per number (the API has no bulk endpoint), in order, stopping at the first that fails."""
    numbers = await _numbers_by_id(call, params.number_ids)
    flow_id = str(params.call_flow_id)
    flow = (await call.api.call_flows.get(flow_id)).name or flow_id
    moving = [n for n in numbers if str(n.call_flow_id or "") != flow_id]
    moved: list[Number] = []
    for index, number in enumerate(moving):
        rest = moving[index + 1 :]
        try:
            await call.api.numbers.update(number.id, {"call_flow_id": flow_id})
        except WriteOutcomeUnknown as exc:
            if not await _on_flow(call, number.id, flow_id):
                why = (
                    f"OUTCOME UNKNOWN ({exc.message}); two checks do not show it moved, but it may still take "
                    "effect: check it with get_number before moving it again"
                )
                raise OutcomeUnknown(_stopped(moved, flow, number, why, rest)) from None
        except CallScalerError as exc:
            raise ToolError(_stopped(moved, flow, number, f"not moved ({exc.message})", rest)) from None
        moved.append(number)
    return Reassigned(
        call_flow_id=flow_id,
        call_flow_name=flow,
        moved=[
            MovedNumber(id=n.id, phone_number=n.phone_number, name=n.name, from_flow=n.call_flow_name)
            for n in moved
        ],
        already_there=[n.phone_number for n in numbers if n not in moving],
    )


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
    "reassign_numbers": ToolFunctions(handler=reassign_numbers, preview=preview_reassign_numbers),
}
