"""Group-by dimensions: what a list's items are grouped on, and the counts and sums per group.

A dimension is an item field (`status`, `event`) or one derived here from an item's fields: the area
code of a phone number, a URL's host or path, or a moment's weekday, hour, day, week or month in the
business's time zone. Lists declare which dimensions they offer (`group_by = [...]` in tool_specs);
`cs_mcp.catalogue` checks at load that each is a field or a derivation the list's items can feed.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, Field

from cs_mcp.models import LazyModel, Untrusted, clean_value, is_untrusted

UTC = ZoneInfo("UTC")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# The moment an item is about, for the time dimensions: the first of these it carries.
MOMENT_FIELDS = ("created_at", "last_message_at", "submitted_at", "updated_at")
PHONE_FIELDS = ("phone_number", "tracking_number", "number")
CALLER_FIELDS = ("caller_number", "contact", "from_number")
MAX_GROUP_BY = 2
MAX_TOP = 50
DEFAULT_TOP = 10
NO_VALUE = "(none)"  # the group of the items without a value (no flow, no campaign)


def area_code(phone: Any) -> str | None:
    """The area code of a North American number in E.164 (+1 NPA ...); None for any other number."""
    text = str(phone or "")
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.startswith("+1") and len(digits) == 11:
        return digits[1:4]
    return None


def moment(value: Any, zone: ZoneInfo) -> datetime | None:
    """An ISO timestamp as a moment in `zone` (a timestamp without an offset is taken as UTC)."""
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(zone)


def _host(url: Any) -> str | None:
    return urlsplit(str(url)).hostname if url else None


def _path(url: Any) -> str | None:
    return (urlsplit(str(url)).path or "/") if url else None


def _in_zone(derive: Callable[[datetime], Any]) -> Callable[[Any, ZoneInfo], Any]:
    def value(raw: Any, zone: ZoneInfo) -> Any:
        at = moment(raw, zone) if raw else None
        return None if at is None else derive(at)

    return value


def _plain(derive: Callable[[Any], Any]) -> Callable[[Any, ZoneInfo], Any]:
    return lambda raw, _zone: derive(raw)


@dataclass(frozen=True)
class Derived:
    """A dimension computed from the first of `reads` an item carries.

    `shaped`: its values have a fixed shape (digits, dates, day names), so they carry no text from
    outside the business whatever field they come from; otherwise they are as trusted as that field.
    """

    reads: tuple[str, ...]
    value: Callable[[Any, ZoneInfo], Any]
    shaped: bool
    in_time_zone: bool = False


DERIVED: dict[str, Derived] = {
    "area_code": Derived(PHONE_FIELDS, _plain(area_code), shaped=True),
    "caller_number": Derived(CALLER_FIELDS, _plain(lambda v: v), shaped=False),
    "caller_area_code": Derived(CALLER_FIELDS, _plain(area_code), shaped=True),
    "url_host": Derived(("url",), _plain(_host), shaped=False),
    "url_path": Derived(("url",), _plain(_path), shaped=False),
    "weekday": Derived(MOMENT_FIELDS, _in_zone(lambda at: WEEKDAYS[at.weekday()]), True, True),
    "hour": Derived(MOMENT_FIELDS, _in_zone(lambda at: at.hour), True, True),
    "day": Derived(MOMENT_FIELDS, _in_zone(lambda at: at.date().isoformat()), True, True),
    # A week is named by its Monday, as the Analytics API names them.
    "week": Derived(
        MOMENT_FIELDS,
        _in_zone(lambda at: (at.date() - timedelta(days=at.weekday())).isoformat()),
        True,
        True,
    ),
    "month": Derived(MOMENT_FIELDS, _in_zone(lambda at: at.strftime("%Y-%m")), True, True),
}


def derivable(dimension: str, fields: Iterable[str]) -> bool:
    """Whether a list whose items carry `fields` can offer `dimension`."""
    known = set(fields)
    derived = DERIVED.get(dimension)
    return dimension in known or (derived is not None and bool(known & set(derived.reads)))


def in_time_zone(dimensions: Iterable[str]) -> bool:
    return any(d in DERIVED and DERIVED[d].in_time_zone for d in dimensions)


def value_of(item: Mapping[str, Any], dimension: str, zone: ZoneInfo) -> Any:
    """The item's value on `dimension`: its field of that name, else the derived value."""
    if dimension in item:
        return item[dimension]
    derived = DERIVED.get(dimension)
    if derived is None:
        return None
    source = next((item[name] for name in derived.reads if item.get(name) is not None), None)
    return None if source is None else derived.value(source, zone)


def untrusted_dimensions(dimensions: Iterable[str], item_model: type[BaseModel]) -> bool:
    """Whether any of `dimensions` takes its values from text from outside the business."""
    for dimension in dimensions:
        derived = DERIVED.get(dimension)
        if derived is not None and dimension not in item_model.model_fields:
            if not derived.shaped and any(is_untrusted(item_model, name) for name in derived.reads):
                return True
        elif is_untrusted(item_model, dimension):
            return True
    return False


class Group(LazyModel):
    key: dict[str, Any] = Field(description=f"the value on each dimension; {NO_VALUE}: items without one")
    count: int
    sums: dict[str, int | float] | None = None


class UntrustedGroup(Group):
    """A group whose key holds text from outside the business (a visitor's UTM tag): cleaned, and fenced
    in the text rendering."""

    key: Annotated[dict[str, Any], BeforeValidator(clean_value), Untrusted()]


class Grouping(LazyModel):
    """The groups of a list's matches; the parts a page adds when asked for group_by."""

    groups: list[Group]
    groups_total: int = Field(description="distinct groups among all matches")
    other_count: int = Field(description="matches outside the groups shown")


def shown(value: Any) -> Any:
    """A group's value as both copies of a result show it: a missing one is NO_VALUE, not null/None."""
    return NO_VALUE if value is None else value


def _order(key: tuple[Any, ...]) -> tuple[tuple[int, str], ...]:
    return tuple((1, "") if v is None else (0, str(v)) for v in key)


def ranked(
    counts: Mapping[tuple[Any, ...], int],
    sums: Mapping[tuple[Any, ...], dict[str, int | float]],
    dimensions: Sequence[str],
    top: int,
    total: int,
    *,
    untrusted: bool = False,
) -> Grouping:
    """The `top` groups by count (ties by key), how many there are, and how many matches fall outside."""
    # The top few of what may be tens of thousands of groups (callers): no need to sort them all.
    order = heapq.nsmallest(top, counts, key=lambda k: (-counts[k], _order(k)))
    kind = UntrustedGroup if untrusted else Group
    groups = [
        kind(
            key=dict(zip(dimensions, map(shown, key), strict=True)),
            count=counts[key],
            sums=sums.get(key) or None,
        )
        for key in order
    ]
    return Grouping(groups=groups, groups_total=len(counts), other_count=total - sum(g.count for g in groups))


def group(
    items: Sequence[Mapping[str, Any]],
    dimensions: Sequence[str],
    *,
    sums: Sequence[str] = (),
    top: int = DEFAULT_TOP,
    zone: ZoneInfo,
    untrusted: bool = False,
) -> Grouping:
    """Count (and sum `sums` of) `items` per combination of their `dimensions` values."""
    counts: Counter[tuple[Any, ...]] = Counter()
    totals: dict[tuple[Any, ...], dict[str, int | float]] = {}
    for item in items:
        key = tuple(value_of(item, d, zone) for d in dimensions)
        counts[key] += 1
        if sums:
            into = totals.setdefault(key, dict.fromkeys(sums, 0))
            for field in sums:
                into[field] += item.get(field) or 0
    return ranked(counts, totals, dimensions, top, len(items), untrusted=untrusted)
