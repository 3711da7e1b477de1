"""Number pools: numbers rotated across a website's visitors (dynamic number insertion)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from cs_mcp import handlers
from cs_mcp.filters import Contains
from cs_mcp.handlers import ToolCall
from cs_mcp.listing import ListQuery, Page, summarise
from cs_mcp.models import ApiObject, Id, Name, Phone, ToolInput
from cs_mcp.spec import ToolFunctions
from cs_mcp.toolsets.number_groups import MembershipChange, NumberIds, Removed, add_members
from cs_mcp.toolsets.numbers import NumberItem

__all__ = ["MembershipChange", "Removed"]  # re-exported: the catalogue names them in this toolset

# A pool answer lists its numbers inline; past this many the rest are counted, not listed.
POOL_NUMBERS_SHOWN = 50


class NumberPoolItem(ApiObject):
    id: str | None = None
    name: str | None = None
    website_url: str | None = None
    number_count: int | None = None


NumberPoolPage = Page[NumberPoolItem]


class NumberPool(NumberPoolItem):
    call_flow_id: str | None = None
    session_timeout_seconds: int | None = None
    fallback_number: str | None = None


class NumberPoolDetail(NumberPool):
    numbers: list[NumberItem] = Field(default_factory=list)
    summary: dict[str, Any] | None = None
    note: str | None = None


class ListNumberPools(ListQuery):
    contains: Annotated[
        str | None, Field(max_length=60, description="in name or website"), Contains(("name", "website_url"))
    ] = None


class PoolRef(ToolInput):
    pool_id: Id


class CreateNumberPool(ToolInput):
    name: Name
    website_url: Annotated[str, Field(pattern=r"^https?://\S+\.\S+$", max_length=300)]
    call_flow_id: Id | None = None
    session_timeout_seconds: Annotated[int | None, Field(ge=60, le=86400, description="default 1800")] = None
    fallback_number: Phone | None = None
    number_ids: NumberIds | None = None


class AddPoolNumbers(ToolInput):
    pool_id: Id
    number_ids: NumberIds


class RemovePoolNumber(ToolInput):
    pool_id: Id
    number_id: Id


async def get_number_pool(call: ToolCall, params: PoolRef) -> NumberPoolDetail:
    """The pool with its numbers in compact form, and a summary over all of them."""
    pool = await call.api.number_pools.get(params.pool_id)
    numbers: list[dict[str, Any]] = pool["numbers"]
    shown = set(NumberItem.model_fields)
    detail = NumberPoolDetail.model_validate(
        {
            **{k: v for k, v in pool.items() if k != "numbers"},
            "numbers": [{k: v for k, v in n.items() if k in shown} for n in numbers[:POOL_NUMBERS_SHOWN]],
            "summary": summarise(numbers, ("status",), ("total_calls",)),
        }
    )
    if len(numbers) > POOL_NUMBERS_SHOWN:
        detail.note = f"showing {POOL_NUMBERS_SHOWN} of {len(numbers)} numbers; the summary covers all"
    return detail


async def add_number_pool_numbers(call: ToolCall, params: AddPoolNumbers) -> MembershipChange:
    pools = call.api.number_pools
    pool = await pools.get(params.pool_id)
    return await add_members(
        call, lambda new: pools.add_numbers(params.pool_id, new), pool["numbers"], params.number_ids
    )


async def _created_pool(call: ToolCall, item: dict[str, Any]) -> NumberPool:
    return NumberPool.model_validate(item)


_created = handlers.CreatedItem(lambda api: api.number_pools.list(), handlers.same_name, _created_pool)


# What each tool of this toolset runs beyond the generic handlers (see cs_mcp/catalogue.py).
TOOLS = {
    "create_number_pool": ToolFunctions(snapshot=_created.snapshot, reconcile=_created.reconcile),
    "get_number_pool": ToolFunctions(handler=get_number_pool),
    "add_number_pool_numbers": ToolFunctions(handler=add_number_pool_numbers),
}
