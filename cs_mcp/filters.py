"""List filters: markers on a list query's fields saying how each one matches an item.

`contains: Annotated[str | None, Contains(("name", "phone_number"))] = None` makes `contains` a filter;
`matching` keeps the items every filter the query sets agrees with.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

RawT = TypeVar("RawT", bound=Mapping[str, Any])


@dataclass(frozen=True)
class Match:
    """Equal to the item's field (case-insensitive for text)."""

    field: str

    def keep(self, item: Mapping[str, Any], wanted: Any) -> bool:
        value = item.get(self.field)
        if isinstance(value, str) and isinstance(wanted, str):
            return value.casefold() == wanted.casefold()
        return value == wanted or str(value) == str(wanted)


@dataclass(frozen=True)
class Contains:
    """A substring of any of the fields (case-insensitive; digits alone also match phone numbers)."""

    fields: tuple[str, ...]

    def keep(self, item: Mapping[str, Any], wanted: Any) -> bool:
        needle = str(wanted).casefold()
        digits = "".join(ch for ch in needle if ch.isdigit())
        for name in self.fields:
            value = str(item.get(name) or "").casefold()
            if needle in value or (
                digits and len(digits) == len(needle.replace(" ", "")) and digits in value
            ):
                return True
        return False


@dataclass(frozen=True)
class AtLeast:
    field: str

    def keep(self, item: Mapping[str, Any], wanted: Any) -> bool:
        value = item.get(self.field)
        return value is not None and value >= wanted


@dataclass(frozen=True)
class AtMost:
    field: str

    def keep(self, item: Mapping[str, Any], wanted: Any) -> bool:
        value = item.get(self.field)
        return value is not None and value <= wanted


@dataclass(frozen=True)
class Since:
    """On or after a date (the item's field is an ISO timestamp)."""

    field: str

    def keep(self, item: Mapping[str, Any], wanted: Any) -> bool:
        return str(item.get(self.field) or "")[:10] >= wanted.isoformat()


@dataclass(frozen=True)
class Before:
    """Strictly before a date (exclusive end, as the API's date filters)."""

    field: str

    def keep(self, item: Mapping[str, Any], wanted: Any) -> bool:
        value = str(item.get(self.field) or "")[:10]
        return bool(value) and value < wanted.isoformat()


@dataclass(frozen=True)
class NonZero:
    """true keeps items whose field is above zero, false those at zero (e.g. has_calls)."""

    field: str

    def keep(self, item: Mapping[str, Any], wanted: Any) -> bool:
        return bool(item.get(self.field) or 0) == bool(wanted)


Filter = Match | Contains | AtLeast | AtMost | Since | Before | NonZero


def _filters_of(query: BaseModel) -> list[tuple[Filter, Any]]:
    """The (filter, wanted value) pairs a list query sets."""
    pairs = []
    for name, info in type(query).model_fields.items():
        value = getattr(query, name)
        if value is None:
            continue
        for marker in info.metadata:
            if isinstance(marker, Filter):
                pairs.append((marker, value))
    return pairs


def matching(items: Iterable[RawT], query: BaseModel) -> list[RawT]:
    """The items every filter `query` sets keeps (the filters are read from the query once)."""
    pairs = _filters_of(query)
    if not pairs:
        return list(items)
    return [item for item in items if all(f.keep(item, wanted) for f, wanted in pairs)]


def filtered_fields(query_model: type[BaseModel]) -> set[str]:
    """The item fields a list query's filters read."""
    fields: set[str] = set()
    for info in query_model.model_fields.values():
        for marker in info.metadata:
            if isinstance(marker, Filter):
                fields.update(marker.fields if isinstance(marker, Contains) else (marker.field,))
    return fields
