"""Number groups: named sets of numbers (for reporting and call filters), and their members.

Also home of the membership helpers the number_pools toolset shares: both add numbers by id and
report which were added, already present or unknown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from cs_mcp import handlers
from cs_mcp.api.models import Removed
from cs_mcp.filters import Contains, Match
from cs_mcp.guardrails.preview import ConfirmedInput, Preview
from cs_mcp.handlers import ToolCall
from cs_mcp.listing import ListQuery, Page
from cs_mcp.models import ApiObject, Id, LazyModel, Name, ToolInput
from cs_mcp.spec import ToolFunctions
from cs_mcp.toolsets.numbers import NumberPage, NumberStatus

# One request may name at most this many numbers (the API takes them in one body).
MAX_NUMBER_IDS = 100
NumberIds = Annotated[list[Id], Field(min_length=1, max_length=MAX_NUMBER_IDS)]

__all__ = ["NumberPage", "Removed"]  # re-exported: the catalogue names them in this toolset


class NumberGroup(ApiObject):
    id: str | None = None
    name: str | None = None
    number_count: int | None = None
    created_at: str | None = None


NumberGroupPage = Page[NumberGroup]


class ListNumberGroups(ListQuery):
    contains: Annotated[str | None, Field(max_length=60), Contains(("name",))] = None


# Groups are small: a status filter and the summary answer the usual questions (each field costs tokens).
class ListGroupMembers(ListQuery):
    group_id: Id
    status: Annotated[NumberStatus | None, Match("status")] = None


class CreateNumberGroup(ToolInput):
    name: Name
    number_ids: NumberIds | None = None


class UpdateNumberGroup(ToolInput):
    group_id: Id
    name: Name


class DeleteNumberGroup(ConfirmedInput):
    group_id: Id


class AddGroupMembers(ToolInput):
    group_id: Id
    number_ids: NumberIds


class RemoveGroupMember(ToolInput):
    group_id: Id
    number_id: Id


# What an add-members call did, id by id (a comment, not a docstring: it would cost schema tokens).
class MembershipChange(LazyModel):
    added: list[str]
    already_present: list[str]
    unknown: list[str]
    member_count: int


# --- Shared with number_pools --------------------------------------------------------------------------


def member_ids(members: Iterable[Mapping[str, Any]]) -> set[str]:
    """Ids of member objects, whether they are numbers (`id`) or memberships (`number_id`)."""
    return {str(m.get("number_id") or m.get("id")).lower() for m in members}


async def add_members(
    call: ToolCall,
    add: Callable[[list[str]], Awaitable[int | None]],
    current: list[dict[str, Any]],
    wanted: list[Any],
) -> MembershipChange:
    """Add the known, not yet present numbers in one request (`add`, which answers the new count when
    the API says it); report the rest instead of failing."""
    known = member_ids(await call.api.numbers.list())
    present = member_ids(current)
    ordered = list(dict.fromkeys(str(n).lower() for n in wanted))
    unknown = [n for n in ordered if n not in known]
    already = [n for n in ordered if n in known and n in present]
    new = [n for n in ordered if n in known and n not in present]
    answered = await add(new) if new else None
    count = answered if answered is not None else len(present) + len(new)
    return MembershipChange(added=new, already_present=already, unknown=unknown, member_count=count)


# --- Handlers ------------------------------------------------------------------------------------------


async def add_number_group_members(call: ToolCall, params: AddGroupMembers) -> MembershipChange:
    groups = call.api.number_groups
    current = await groups.members(params.group_id)
    return await add_members(
        call, lambda new: groups.add_members(params.group_id, new), current, params.number_ids
    )


async def _group(call: ToolCall, group_id: object) -> dict[str, Any]:
    group = await call.api.number_groups.find(group_id)
    if group is None:
        raise ToolError(f"No number group has id {group_id}. Use list_number_groups to find it.")
    return group


async def preview_delete_number_group(call: ToolCall, params: DeleteNumberGroup) -> Preview:
    group = await _group(call, params.group_id)
    count = group.get("number_count")
    if count is None:  # the list shape is an assumption; the members endpoint is authoritative
        count = len(await call.api.number_groups.members(params.group_id))
    return Preview(
        action=f"Delete number group {group.get('name')!r} and its {count} memberships. "
        "The numbers themselves are kept, with their calls and routing.",
        details={"group_id": str(params.group_id), "members": count},
        irreversible=True,
    )


async def delete_number_group(call: ToolCall, params: DeleteNumberGroup) -> Removed:
    # Explicit rather than the generic handler, which would send the confirmation token as a body.
    return await call.api.number_groups.delete(params.group_id)


async def _created_group(call: ToolCall, item: dict[str, Any]) -> NumberGroup:
    return NumberGroup.model_validate(item)


_created = handlers.CreatedItem(lambda api: api.number_groups.list(), handlers.same_name, _created_group)


# What each tool of this toolset runs beyond the generic handlers (see cs_mcp/catalogue.py).
TOOLS = {
    "create_number_group": ToolFunctions(snapshot=_created.snapshot, reconcile=_created.reconcile),
    "delete_number_group": ToolFunctions(handler=delete_number_group, preview=preview_delete_number_group),
    "add_number_group_members": ToolFunctions(handler=add_number_group_members),
}
