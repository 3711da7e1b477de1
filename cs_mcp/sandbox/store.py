"""One sandbox's state and what every resource does with it: look-ups, new ids, change stamps."""

from __future__ import annotations

import random
from typing import Any

from cs_mcp.sandbox.formats import is_uuid, iso, new_id
from cs_mcp.sandbox.seed_data import SEED
from cs_mcp.sandbox.state import State
from cs_mcp.sandbox.validation import ApiError, Fields, not_found


class Store:
    """The state the handlers read and change, with the clock and id stream of its changes."""

    def __init__(self, state: State, anchor: int) -> None:
        self.state = state
        self.anchor = anchor  # `now`, in epoch seconds
        self.rng = random.Random(f"{SEED}:runtime")
        self.changes = 0

    def stamp(self) -> str:
        """The time of a change: one second after the anchor per change (ordered and repeatable)."""
        self.changes += 1
        return iso(self.anchor + self.changes)

    def new_id(self) -> str:
        return new_id(self.rng)

    def find(self, key: str, ident: str) -> dict[str, Any] | None:
        items: list[dict[str, Any]] = self.state[key]  # type: ignore[literal-required]
        return next((item for item in items if item["id"] == ident), None)

    def item(self, key: str, ident: str, what: str) -> dict[str, Any]:
        """An item named in the path: 404 when there is none."""
        item = self.find(key, ident) if is_uuid(ident) else None
        if item is None:
            raise not_found(what, ident)
        return item

    def referenced(self, key: str, ident: str, field: str, what: str) -> dict[str, Any]:
        """An item named in the body: 422 when there is none."""
        item = self.find(key, ident)
        if item is None:
            raise ApiError(422, f"Field '{field}' refers to no {what} with id '{ident}'", field=field)
        return item

    def referenced_numbers(self, fields: Fields) -> list[dict[str, Any]]:
        return [self.referenced("numbers", i, "number_ids", "number") for i in fields.uuid_list("number_ids")]
