"""Lists: queries, pages under opaque cursors, and summaries and groups of every matching item.

The API returns whole collections; a list tool filters them (`cs_mcp.filters`), summarises *all*
matching items (so "how many numbers have no calls?" needs no paging), groups them when asked
(`group_by`, see `cs_mcp.dimensions`), and returns one compact page under an opaque cursor, as large
as the output budget allows. `fields` picks exactly the fields each item shows; sort takes any of them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, TypeVar, get_args
from zoneinfo import ZoneInfo

import anyio
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, WithJsonSchema, create_model

from cs_mcp import dimensions
from cs_mcp.budget import Measured, fit
from cs_mcp.dimensions import DEFAULT_TOP, MAX_GROUP_BY, MAX_TOP, UTC, Group, Grouping
from cs_mcp.filters import matching
from cs_mcp.models import LazyModel, ToolInput

ItemT = TypeVar("ItemT", bound=BaseModel)
RawT = TypeVar("RawT", bound=Mapping[str, Any])
SliceT = TypeVar("SliceT")
TOP_VALUES = 8  # a count-by summary keeps the most frequent values and folds the rest into "(other)"
DEFAULT_PAGE_SIZE = 20
# What a list tool adds to the summary beyond counts and sums, from the matching items.
MoreSummary = Callable[[Sequence[Mapping[str, Any]]], Awaitable[dict[str, Any]]]


# How to spell a sort is said once, in the server instructions, and again by the error a wrong
# spelling gets; the schema says only that it is a string.
_SORT_SCHEMA = {"type": "string"}


_SORT = re.compile(r"-?[a-z_]{1,40}")


def _sort_spelling(value: str) -> str:
    """Accept the spellings models reach for: `-name`, `name desc`, `name:desc`, `name asc`."""
    field, _, order = value.strip().replace(":", " ").partition(" ")
    order = order.strip().lower()
    if order in ("desc", "descending"):
        field = "-" + field
    if order not in ("", "asc", "ascending", "desc", "descending") or not _SORT.fullmatch(field):
        raise ValueError(
            f"cannot read {value[:60]!r} as a sort: write a field name, or -field for descending"
        )
    return field


def unpublished_default(schema: dict[str, Any]) -> None:
    """For a default the server instructions state once rather than every schema repeating it."""
    schema.pop("default", None)


class PageQuery(ToolInput):
    """Paging arguments every list tool shares."""

    # The default page size and what `fields` names are said once, in the server instructions; the
    # schema publishes the hard maximum (a page of none is refused with a clear error, unpublished).
    limit: Annotated[
        int,
        Field(ge=1, le=100, json_schema_extra=unpublished_default),
        WithJsonSchema({"type": "integer", "maximum": 100}),
    ] = DEFAULT_PAGE_SIZE
    cursor: Annotated[str | None, Field(max_length=300)] = None
    # Constraints sit on the list and the text, not on the optional: None is never checked against them.
    fields: Annotated[
        Annotated[list[str], Field(max_length=20)] | None,
        BeforeValidator(
            lambda v: v.replace(",", " ").split() if isinstance(v, str) else v
        ),  # "a,b" works too
        WithJsonSchema({"type": "array"}),
    ] = None


class ListQuery(PageQuery):
    """Paging and sorting arguments of the lists cs_mcp pages itself."""

    sort: Annotated[Annotated[str, AfterValidator(_sort_spelling)] | None, WithJsonSchema(_SORT_SCHEMA)] = (
        None
    )


def grouped(query_model: type[BaseModel], offered: Sequence[str]) -> type[BaseModel]:
    """`query_model` with `group_by` (1-2 of the `offered` dimensions) and `top`: what the catalogue
    serves for a list whose spec declares dimensions, so each list publishes its own enum."""
    dimension: Any = Literal[tuple(offered)]
    group_by: Any = Annotated[list[dimension] | None, Field(min_length=1, max_length=MAX_GROUP_BY)]
    # The range and default of top are said in the server instructions; a value outside it gets a clear error.
    top: Any = Annotated[
        int,
        Field(ge=1, le=MAX_TOP, json_schema_extra=unpublished_default),
        WithJsonSchema({"type": "integer"}),
    ]
    model: type[BaseModel] = create_model(
        query_model.__name__,
        __base__=query_model,
        __module__=query_model.__module__,
        group_by=(group_by, None),
        top=(top, DEFAULT_TOP),
    )
    return model


def group_request(query: BaseModel) -> tuple[list[str], int]:
    """The dimensions a query groups by (none: it does not) and how many groups to show."""
    return list(getattr(query, "group_by", None) or ()), int(getattr(query, "top", DEFAULT_TOP))


def page_size(query: PageQuery) -> int:
    """The page asked for: with group_by and no limit given, none (the groups answer the question)."""
    grouping, _ = group_request(query)
    return 0 if grouping and "limit" not in query.model_fields_set else query.limit


class Page(LazyModel, Generic[ItemT]):
    """One page of a filtered list, with a summary (and groups, when asked) of every matching item."""

    total: int = Field(description="items matching the filters")
    items: list[ItemT]
    next_cursor: str | None = None
    summary: dict[str, Any] = Field(default_factory=dict, description="computed over all matching items")
    # A shorter page than asked for shows in the data (fewer items, a next_cursor), so why it is short
    # is advice for the assistant: in the text only, not in structuredContent or the schema.
    note: str | None = Field(None, exclude=True)


class GroupedPage(Page[ItemT], Generic[ItemT]):
    """The page of a list that offers group_by: its groups, when asked for (see `grouped_page`)."""

    groups: list[Group] | None = Field(None, description="top groups of all matches, by count")
    groups_total: int | None = None
    other_count: int | None = Field(None, description="matches outside the groups shown")
    time_zone: str | None = Field(None, description="of weekday, hour, day, week and month")


def grouped_page(output_model: type[BaseModel]) -> type[BaseModel]:
    """A list's `Page[Item]` output with the fields of its groups: what the catalogue serves for a list
    whose spec declares dimensions, so only those lists publish them."""
    item = page_item_model(output_model)
    assert item is not None, "the catalogue checks a list's output is a page first"
    model: type[BaseModel] = GroupedPage[item]  # type: ignore[valid-type]
    return model


def page_model(item_model: type[ItemT], grouping: Grouping | None) -> type[Page[ItemT]]:
    """The page to build: with its groups' fields when it has groups."""
    return GroupedPage[item_model] if grouping is not None else Page[item_model]  # type: ignore[valid-type]


class QueryError(ValueError):
    """A list argument that is valid on its own but not for this list (bad cursor, unknown sort)."""


def page_item_model(output_model: type[BaseModel]) -> type[BaseModel] | None:
    """The item model of a `Page[Item]` output, or None when the output is not a page."""
    items = output_model.model_fields.get("items")
    args = get_args(items.annotation) if items is not None else ()
    item = args[0] if args else None
    return item if isinstance(item, type) and issubclass(item, BaseModel) else None


def _fingerprint(query: ToolInput) -> str:
    identity = query.model_dump(mode="json", exclude={"limit", "cursor", "fields", "group_by", "top"})
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:10]


def encode_cursor(offset: int, query: ToolInput) -> str:
    raw = json.dumps({"o": offset, "q": _fingerprint(query)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, query: ToolInput) -> int:
    if not cursor:
        return 0
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset, fingerprint = int(state["o"]), state["q"]
    except (ValueError, KeyError, TypeError):
        raise QueryError(
            "cursor is not one this server issued: pass next_cursor unchanged, or omit it"
        ) from None
    if fingerprint != _fingerprint(query) or offset < 0:
        raise QueryError(
            "cursor belongs to a query with other filters or sort: repeat that query, or omit cursor"
        )
    return offset


def _sort_key(field: str, zone: ZoneInfo) -> Callable[[Mapping[str, Any]], tuple[int, Any]]:
    """Missing values last; numbers before text (a field can hold both); text in any case."""

    def key(item: Mapping[str, Any]) -> tuple[int, Any]:
        value = item[field] if field in item else dimensions.value_of(item, field, zone)
        if value is None:
            return (2, 0)
        if isinstance(value, (int, float)):  # a tuple, not a union: this runs once per item
            return (0, value)
        return (1, str(value).casefold())

    return key


def carried(items: Iterable[Mapping[str, Any]]) -> set[str]:
    """The field names the items carry."""
    return {key for item in items for key in item}


def check_sort(field: str, items: Sequence[Mapping[str, Any]], declared: Sequence[str]) -> None:
    """Refuse a sort on a field no item shows (nor could show: a derived dimension they can feed)."""
    if field in declared or any(dimensions.derivable(field, item) for item in items):
        return
    names = ", ".join(sorted(carried(items) | set(declared))) or "(no items match)"
    raise QueryError(
        f"cannot sort by {field!r}: no item has it; sort by one of {names}; -field sorts descending"
    )


def most_common_first(counts: list[tuple[str, int]], top: int) -> dict[str, int]:
    """The `top` most frequent values (`counts` is sorted, most first), the rest folded into "(other)"
    with the number of distinct values beside it."""
    kept = dict(counts[:top])
    if len(counts) > top:
        kept["(other)"] = sum(count for _, count in counts[top:])
        kept["(distinct)"] = len(counts)
    return kept


class Tally:
    """Counts by fields (top values, the rest folded) and sum/zero/max of numeric fields, taken a slice
    of items at a time. Values are counted as they are (in C) and named once per distinct value at the
    end; a field whose values would meet as dict keys though they read apart (1, 1.0 and True), or
    cannot be keys (lists, objects), is counted by name from then on."""

    def __init__(self, count_by: Iterable[str], sums: Iterable[str]) -> None:
        self.counts: dict[str, Counter[Any]] = {field: Counter() for field in count_by}
        self.kinds: dict[str, set[type]] = {field: set() for field in self.counts}
        self.by_name: set[str] = set()
        self.sums: dict[str, list[Any]] = {field: [0, 0, None] for field in sums}  # sum, zeros, max

    def add(self, items: Sequence[Mapping[str, Any]]) -> None:
        for field, counts in self.counts.items():
            values = [item.get(field) for item in items]
            kinds = self.kinds[field]
            kinds.update(map(type, values))
            if field not in self.by_name and (
                len(kinds & _NUMBER_KINDS) > 1 or any(kind.__hash__ is None for kind in kinds)
            ):
                self.by_name.add(field)
                counts = self.counts[field] = _by_name(counts)
            counts.update(map(_count_name, values) if field in self.by_name else values)
        for field, (total, zeros, largest) in self.sums.items():
            numbers = [item.get(field) or 0 for item in items]
            if numbers:
                top = max(numbers)
                largest = top if largest is None else max(largest, top)
            # sum(.., start) adds on in order: the same total as one sum over every item.
            self.sums[field] = [sum(numbers, total), zeros + numbers.count(0), largest]

    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = {}
        for field, raw in self.counts.items():
            summary[f"by_{field}"] = most_common_first(_named(raw), TOP_VALUES)
        for field, (total, zeros, largest) in self.sums.items():
            summary[field] = {"sum": total, "zero": zeros, "max": 0 if largest is None else largest}
        return summary


_NUMBER_KINDS = frozenset({bool, int, float})


def _count_name(value: Any) -> str:
    return "(none)" if value is None else str(value)


def _by_name(counts: Counter[Any]) -> Counter[str]:
    """The counts keyed by each value's name, in the order first seen."""
    named: Counter[str] = Counter()
    for value, count in counts.items():
        named[_count_name(value)] += count
    return named


def _named(raw: Counter[Any]) -> list[tuple[str, int]]:
    """Counts by name, most first, ties in the order first seen (a field may hold thousands of values)."""
    ranked = raw.most_common()  # a stable sort: ties stay first seen first
    names = [_count_name(value) for value, _ in ranked]
    if len(set(names)) == len(names):  # the usual case: no two values read the same
        return list(zip(names, (count for _, count in ranked), strict=True))
    return _by_name(raw).most_common()  # "(none)" is None's name, and a text's


def summarise(
    items: Sequence[Mapping[str, Any]], count_by: Iterable[str], sums: Iterable[str]
) -> dict[str, Any]:
    """Counts by each field (top values, the rest folded) and sum/zero/max of each numeric field."""
    tally = Tally(count_by, sums)
    tally.add(items)
    return tally.summary()


# Items matched, counted and keyed between turns of the event loop: about a millisecond of work, so a
# list of tens of thousands never holds up the server's other requests for long.
SLICE_ITEMS = 500


async def slices(items: Sequence[SliceT]) -> AsyncIterator[Sequence[SliceT]]:
    """`items` SLICE_ITEMS at a time, the event loop getting a turn between slices."""
    for start in range(0, len(items), SLICE_ITEMS):
        if start:
            await anyio.sleep(0)
        yield items[start : start + SLICE_ITEMS]


@dataclass
class Selection:
    """The items a query matches (in the API's order), their summary, and the first `wanted` of them in
    the query's sort order: all a page of any size up to `wanted` needs."""

    matched: list[Mapping[str, Any]]
    summary: dict[str, Any]
    first: list[Mapping[str, Any]]


async def select(
    items: Sequence[Mapping[str, Any]],
    query: BaseModel,
    *,
    count_by: Iterable[str],
    sums: Sequence[str],
    sort: str | None,
    sortable: Sequence[str],
    zone: ZoneInfo,
    wanted: int,
) -> Selection:
    """Match, count and sort `items` a slice at a time, the event loop getting a turn between slices.

    Only the first `wanted` in sort order are ordered (each slice's first, then the first of those), in
    the order a stable sort of every match gives them."""
    field = sort.lstrip("-") if sort else None
    if field is not None:
        check_sort(field, items, sortable)
    key = _sort_key(field, zone) if field is not None else None
    descending = bool(sort and sort.startswith("-"))

    def first_of(indexes: Iterable[int]) -> list[int]:  # stable: ties stay in the items' order
        return sorted(indexes, key=keys.__getitem__, reverse=descending)[:wanted]

    tally = Tally(count_by, sums)
    matched: list[Mapping[str, Any]] = []
    keys: list[tuple[int, Any]] = []
    leaders: list[int] = []  # indexes into matched: each slice's first `wanted`, which hold the overall first
    async for items_slice in slices(items):
        part = matching(items_slice, query)
        tally.add(part)
        if key is not None:
            keys.extend(map(key, part))
            indexes = range(len(matched), len(matched) + len(part))
            leaders.extend(first_of(indexes))
        matched.extend(part)
    if key is None:
        first = matched[:wanted]
    else:
        leaders.sort()  # back in the items' order, so ties stay in it
        first = [matched[i] for i in first_of(leaders)]
    return Selection(matched, tally.summary(), first)


async def build_page(
    items: list[RawT],
    query: ListQuery,
    item_model: type[ItemT],
    *,
    count_by: Iterable[str] = (),
    sums: Sequence[str] = (),
    sortable: Sequence[str] = (),
    default_sort: str | None = None,
    more_summary: MoreSummary | None = None,
    budget_tokens: int,
    zone: ZoneInfo = UTC,
) -> Measured[Page[ItemT]]:
    """Filter, summarise, group, sort and page `items`, shrinking the page until it fits the budget.

    `items` is taken over: emptied once the page is built (see `release`)."""
    offset = decode_cursor(query.cursor, query)
    selection = await select(
        items,
        query,
        count_by=count_by,
        sums=sums,
        sort=query.sort or default_sort,
        sortable=sortable,
        zone=zone,
        wanted=offset + page_size(query),
    )
    total = len(selection.matched)
    summary = selection.summary  # once, whatever page size fits
    if more_summary is not None:
        summary.update(await more_summary(selection.matched))
    grouping = groups_of(selection.matched, query, item_model, sums=sums, zone=zone)

    def page_of(size: int) -> Page[ItemT]:
        window = selection.first[offset : offset + size]
        shown = [project(raw, item_model, query.fields, zone) for raw in window]
        end = offset + len(window)
        return page_model(item_model, grouping)(
            total=total,
            items=[item_model.model_validate(item) for item in shown],
            next_cursor=encode_cursor(end, query) if end < total else None,
            summary=summary,
            note=page_note(window, query, size),
            **grouped_fields(grouping, query, zone),
        )

    page = fit(budget_tokens, page_size(query), page_of)
    selection.matched.clear()
    await release(items)
    return page


async def release(items: list[Any]) -> None:
    """Empty `items` a slice at a time, the loop getting a turn between slices: tens of thousands of API
    objects freed at once, as the last list holding them goes, hold it for 5-15 ms."""
    while len(items) > SLICE_ITEMS:
        del items[-SLICE_ITEMS:]
        await anyio.sleep(0)
    items.clear()


def groups_of(
    items: Sequence[Mapping[str, Any]],
    query: BaseModel,
    item_model: type[BaseModel],
    *,
    sums: Sequence[str],
    zone: ZoneInfo,
) -> Grouping | None:
    """The groups a query asks for (None when it asks for none), over every item given."""
    by, top = group_request(query)
    if not by:
        return None
    untrusted = dimensions.untrusted_dimensions(by, item_model)
    return dimensions.group(items, by, sums=sums, top=top, zone=zone, untrusted=untrusted)


def grouped_fields(grouping: Grouping | None, query: BaseModel, zone: ZoneInfo) -> dict[str, Any]:
    """What a page adds for its groups: them, their counts, and the time zone their times are in."""
    if grouping is None:
        return {}
    by, _ = group_request(query)
    zone_name = str(zone) if dimensions.in_time_zone(by) else None
    return {**dict(grouping), "time_zone": zone_name}


def page_note(raw_items: Sequence[Mapping[str, Any]], query: PageQuery, size: int) -> str | None:
    """What a page's text adds: why it is shorter than asked, and `fields=` names no item carries."""
    notes = []
    if page_size(query) == 0:
        notes.append("items are left out with group_by: give limit for a page of them too")
    elif size < query.limit:
        notes.append(
            f"showing {size} of the {query.limit} asked for, to stay within the output budget; "
            "pass next_cursor for more, or ask for fewer fields"
        )
    has = carried(raw_items)
    missing = [name for name in query.fields or () if not dimensions.derivable(name, has)]
    if missing and has:
        notes.append(f"no item has {', '.join(missing)}; these items carry {', '.join(sorted(has))}")
    return "; ".join(notes) or None


def project(
    raw: Mapping[str, Any], model: type[BaseModel], fields: list[str] | None, zone: ZoneInfo = UTC
) -> dict[str, Any]:
    """Exactly the `fields=` asked for (a derived dimension too, e.g. area_code), or else the item
    model's own fields: compact pages by default, narrower or wider on request."""
    if not fields:
        declared = model.model_fields  # once: pydantic's class property costs ~3 us a look-up
        return {k: v for k, v in raw.items() if k in declared}
    shown = {}
    for name in fields:
        value = raw[name] if name in raw else dimensions.value_of(raw, name, zone)
        if value is not None or name in raw:
            shown[name] = value
    return shown
