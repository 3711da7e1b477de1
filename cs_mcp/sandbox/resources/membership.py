"""What number groups and number pools share: holding a list of numbers, shown with its count."""

from __future__ import annotations

from typing import Any

from cs_mcp.sandbox.answers import public
from cs_mcp.sandbox.store import Store
from cs_mcp.sandbox.validation import ApiError


def members(store: Store, holder: dict[str, Any]) -> list[dict[str, Any]]:
    ids = set(holder["number_ids"])
    return [n for n in store.state["numbers"] if n["id"] in ids]


def with_count(holder: dict[str, Any]) -> dict[str, Any]:
    """A group or pool as shown: its fields and how many numbers it holds."""
    return {**public(holder), "number_count": len(holder["number_ids"])}


def new_holder(store: Store, key: str, numbers: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """Create a group or pool holding `numbers`; answer it as shown."""
    holder = {
        "id": store.new_id(),
        **fields,
        "created_at": store.stamp(),
        "number_ids": [n["id"] for n in numbers],
    }
    store.state[key].append(holder)  # type: ignore[literal-required]
    return with_count(holder)


def add_members(holder: dict[str, Any], numbers: list[dict[str, Any]]) -> None:
    ids = holder["number_ids"]
    ids.extend(n["id"] for n in numbers if n["id"] not in ids)


def remove_member(store: Store, key: str, ident: str, number_id: str, what: str) -> dict[str, Any]:
    """Take a number out of the group or pool named in the path; answer the holder as shown."""
    holder = store.item(key, ident, what)
    if number_id not in holder["number_ids"]:
        raise ApiError(404, f"Number {number_id} is not in the {what} '{holder['name']}'")
    holder["number_ids"].remove(number_id)
    return with_count(holder)
