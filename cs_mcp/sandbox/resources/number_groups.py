"""Number groups: named sets of numbers (unique names), and their members."""

from __future__ import annotations

from typing import Any

from cs_mcp.sandbox.answers import listing
from cs_mcp.sandbox.resources.membership import add_members, members, new_holder, remove_member, with_count
from cs_mcp.sandbox.resources.numbers import numbers_view
from cs_mcp.sandbox.routes import Req, RouteTable
from cs_mcp.sandbox.store import Store
from cs_mcp.sandbox.validation import ApiError

routes = RouteTable()


def group_member_ids(store: Store, group_id: str) -> set[str]:
    """For the number_group_id filter of the call endpoints."""
    group = store.find("number_groups", group_id)
    if group is None:
        raise ApiError(
            422,
            f"Query parameter 'number_group_id' refers to no number group with id '{group_id}'",
            field="number_group_id",
        )
    return set(group["number_ids"])


@routes.get("/number-groups")
def list_groups(store: Store, req: Req) -> dict[str, Any]:
    return listing("number_groups", [with_count(g) for g in store.state["number_groups"]])


@routes.post("/number-groups", status=201)
def create_group(store: Store, req: Req) -> dict[str, Any]:
    req.body.only(("name", "number_ids"))
    name = _group_name(store, req)
    numbers = store.referenced_numbers(req.body) if req.body.present("number_ids") else []
    return new_holder(store, "number_groups", numbers, name=name)


@routes.put("/number-groups/{id}")
def update_group(store: Store, req: Req) -> dict[str, Any]:
    group = store.item("number_groups", req.params["id"], "number group")
    req.body.only(("name",))
    group["name"] = _group_name(store, req, group["id"])
    return with_count(group)


@routes.delete("/number-groups/{id}")
def delete_group(store: Store, req: Req) -> dict[str, Any]:
    group = store.item("number_groups", req.params["id"], "number group")
    store.state["number_groups"].remove(group)
    return {"deleted": True, "id": group["id"]}


@routes.get("/number-groups/{id}/members")
def group_members(store: Store, req: Req) -> dict[str, Any]:
    group = store.item("number_groups", req.params["id"], "number group")
    return listing("numbers", numbers_view(store, members(store, group)))


@routes.post("/number-groups/{id}/members")
def add_group_members(store: Store, req: Req) -> dict[str, Any]:
    group = store.item("number_groups", req.params["id"], "number group")
    req.body.only(("number_ids",))
    add_members(group, store.referenced_numbers(req.body))
    return with_count(group)


@routes.delete("/number-groups/{id}/members/{number_id}")
def remove_group_member(store: Store, req: Req) -> dict[str, Any]:
    return remove_member(store, "number_groups", req.params["id"], req.params["number_id"], "number group")


def _group_name(store: Store, req: Req, group_id: str | None = None) -> str:
    """Group names are unique, case-insensitively."""
    name = req.body.string("name", required=True, max_length=100)
    if any(g["name"].lower() == name.lower() and g["id"] != group_id for g in store.state["number_groups"]):
        raise ApiError(409, f"A number group named '{name}' already exists")
    return name
