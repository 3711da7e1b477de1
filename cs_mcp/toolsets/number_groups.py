"""Number groups: named sets of numbers (for reporting and call filters), and their members.

Also home of the membership helpers the number_pools toolset shares: both add numbers by id and
report which were added, already present or unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from cs_mcp import handlers
from cs_mcp.filters import Contains, Match
from cs_mcp.guardrails.preview import ConfirmedInput, Preview
from cs_mcp.handlers import ToolCall
from cs_mcp.listing import ListQuery, Page
from cs_mcp.models import ApiObject, Id, Name, ToolInput
from cs_mcp.spec import ToolFunctions
from cs_mcp.toolsets.numbers import NumberPage, NumberStatus

# One request may name at most this many numbers (the API takes them in one body).
MAX_NUMBER_IDS = 100
NumberIds = Annotated[list[Id], Field(min_length=1, max_length=MAX_NUMBER_IDS)]

__all__ = ["NumberPage"]  # re-exported: the catalogue names them in this toolset


class NumberGroup(ApiObject):
    id: str
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
class MembershipChange(BaseModel):
    added: list[str]
    already_present: list[str]
    unknown: list[str]
    member_count: int


# The API's acknowledgement of a deletion (its exact shape is not documented).
class Removed(ApiObject):
    id: str | None = None
    deleted: bool | None = None
    removed: bool | None = None


# --- Shared with number_pools --------------------------------------------------------------------------


def member_ids(members: Iterable[Mapping[str, Any]]) -> set[str]:
    """Ids of member objects, whether they are numbers (`id`) or memberships (`number_id`)."""
    return {str(m.get("number_id") or m.get("id")).lower() for m in members}


def _items(data: Any, *keys: str) -> list[dict[str, Any]]:
    """The list in an answer, under the first of `keys` present (or the bare list)."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in keys:
            if isinstance(data.get(key), list):
                return data[key]
    return []


async def add_members(
    call: ToolCall, path: str, current: list[dict[str, Any]], wanted: list[Any]
) -> MembershipChange:
    """Add the known, not yet present numbers in one request; report the rest instead of failing."""
    numbers = await call.api.get("/numbers")
    known = member_ids(_items(numbers, "numbers"))
    present = member_ids(current)
    ordered = list(dict.fromkeys(str(n).lower() for n in wanted))
    unknown = [n for n in ordered if n not in known]
    already = [n for n in ordered if n in known and n in present]
    new = [n for n in ordered if n in known and n not in present]
    count = len(present) + len(new)
    if new:
        answer = await call.api.request("POST", path, json_body={"number_ids": new})
        if isinstance(answer, dict) and isinstance(answer.get("number_count"), int):
            count = answer["number_count"]
    return MembershipChange(added=new, already_present=already, unknown=unknown, member_count=count)


# --- Handlers ------------------------------------------------------------------------------------------


def _members_path(group_id: object) -> str:
    return f"/number-groups/{group_id}/members"


async def _members(call: ToolCall, group_id: object) -> list[dict[str, Any]]:
    return _items(await call.api.get(_members_path(group_id)), "numbers", "members")


async def add_number_group_members(call: ToolCall, params: AddGroupMembers) -> MembershipChange:
    current = await _members(call, params.group_id)
    return await add_members(call, _members_path(params.group_id), current, params.number_ids)


async def _group(call: ToolCall, group_id: object) -> dict[str, Any]:
    groups = _items(await call.api.get("/number-groups"), "number_groups", "groups")
    for group in groups:
        if str(group.get("id")).lower() == str(group_id).lower():
            return group
    raise ToolError(f"No number group has id {group_id}. Use list_number_groups to find it.")


async def preview_delete_number_group(call: ToolCall, params: DeleteNumberGroup) -> Preview:
    group = await _group(call, params.group_id)
    count = group.get("number_count")
    if count is None:  # the list shape is an assumption; the members endpoint is authoritative
        count = len(await _members(call, params.group_id))
    return Preview(
        action=f"Delete number group {group.get('name')!r} and its {count} memberships. "
        "The numbers themselves are kept, with their calls and routing.",
        details={"group_id": str(params.group_id), "members": count},
        irreversible=True,
    )


async def delete_number_group(call: ToolCall, params: DeleteNumberGroup) -> Removed:
    # Explicit rather than the generic handler, which would send the confirmation token as a body.
    return Removed.model_validate(await call.api.request("DELETE", f"/number-groups/{params.group_id}"))


async def _created_group(call: ToolCall, item: dict[str, Any]) -> NumberGroup:
    return NumberGroup.model_validate(item)


_created = handlers.CreatedItem("/number-groups", "number_groups", handlers.same_name, _created_group)


# What each tool of this toolset runs beyond the generic handlers (see cs_mcp/catalogue.py).
TOOLS = {
    "create_number_group": ToolFunctions(snapshot=_created.snapshot, reconcile=_created.reconcile),
    "delete_number_group": ToolFunctions(handler=delete_number_group, preview=preview_delete_number_group),
    "add_number_group_members": ToolFunctions(handler=add_number_group_members),
}
