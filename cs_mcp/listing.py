"""Lists: queries, pages under opaque cursors, and summaries of every matching item.

The API returns whole collections; a list tool filters them (`cs_mcp.filters`), summarises *all*
matching items (so "how many numbers have no calls?" needs no paging), and returns one compact page
under an opaque cursor, as large as the output budget allows.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any, Generic, TypeVar, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, WithJsonSchema

from cs_mcp.budget import Measured, fit
from cs_mcp.filters import matching
from cs_mcp.models import ToolInput

ItemT = TypeVar("ItemT", bound=BaseModel)
TOP_VALUES = 8  # a count-by summary keeps the most frequent values and folds the rest into "(other)"
DEFAULT_PAGE_SIZE = 20
# What a list tool adds to the summary beyond counts and sums, from the matching items.
MoreSummary = Callable[[Sequence[Mapping[str, Any]]], dict[str, Any]]


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


class PageQuery(ToolInput):
    """Paging arguments every list tool shares."""

    # The default page size and what `fields` names are said once, in the server instructions; the
    # schema publishes the hard maximum (a page of none is refused with a clear error, unpublished).
    limit: Annotated[
        int,
        Field(ge=1, le=100, json_schema_extra=lambda schema: schema.pop("default", None)),
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


class Page(BaseModel, Generic[ItemT]):
    """One page of a filtered list, with a summary of every matching item."""

    total: int = Field(description="items matching the filters")
    items: list[ItemT]
    next_cursor: str | None = None
    summary: dict[str, Any] = Field(default_factory=dict, description="computed over all matching items")
    # A shorter page than asked for shows in the data (fewer items, a next_cursor), so why it is short
    # is advice for the assistant: in the text only, not in structuredContent or the schema.
    note: str | None = Field(None, exclude=True)


class QueryError(ValueError):
    """A list argument that is valid on its own but not for this list (bad cursor, unknown sort)."""


def page_item_model(output_model: type[BaseModel]) -> type[BaseModel] | None:
    """The item model of a `Page[Item]` output, or None when the output is not a page."""
    items = output_model.model_fields.get("items")
    args = get_args(items.annotation) if items is not None else ()
    item = args[0] if args else None
    return item if isinstance(item, type) and issubclass(item, BaseModel) else None


def _fingerprint(query: ToolInput) -> str:
    identity = query.model_dump(mode="json", exclude={"limit", "cursor", "fields"})
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


def _sort_key(field: str) -> Callable[[Mapping[str, Any]], tuple[int, Any]]:
    def key(item: Mapping[str, Any]) -> tuple[int, Any]:
        value = item.get(field)
        if value is None:
            return (1, "")
        return (0, value.casefold() if isinstance(value, str) else value)

    return key


def summarise(
    items: Sequence[Mapping[str, Any]], count_by: Iterable[str], sums: Iterable[str]
) -> dict[str, Any]:
    """Counts by each field (top values, the rest folded) and sum/zero/max of each numeric field."""
    summary: dict[str, Any] = {}
    for field in count_by:
        counts = Counter(str(item.get(field)) if item.get(field) is not None else "(none)" for item in items)
        top = dict(counts.most_common(TOP_VALUES))
        if len(counts) > TOP_VALUES:
            top["(other)"] = sum(counts.values()) - sum(top.values())
            top["(distinct)"] = len(counts)
        summary[f"by_{field}"] = top
    for field in sums:
        values = [item.get(field) or 0 for item in items]
        summary[field] = {
            "sum": sum(values),
            "zero": sum(1 for v in values if not v),
            "max": max(values, default=0),
        }
    return summary


def build_page(
    items: Sequence[Mapping[str, Any]],
    query: ListQuery,
    item_model: type[ItemT],
    *,
    count_by: Iterable[str] = (),
    sums: Iterable[str] = (),
    sortable: Sequence[str] = (),
    default_sort: str | None = None,
    more_summary: MoreSummary | None = None,
    budget_tokens: int,
) -> Measured[Page[ItemT]]:
    """Filter, summarise, sort and page `items`, halving the page until it fits the budget."""
    selected = matching(items, query)
    sort = query.sort or default_sort
    if sort:
        field = sort.lstrip("-")
        if field not in sortable:
            raise QueryError(
                f"cannot sort by {field!r}: use one of {', '.join(sortable)}; -field sorts descending"
            )
        selected.sort(key=_sort_key(field), reverse=sort.startswith("-"))
    offset = decode_cursor(query.cursor, query)
    summary = summarise(selected, count_by, sums)  # once, whatever page size fits
    if more_summary is not None:
        summary.update(more_summary(selected))
    extra_fields = set(query.fields or ())
    known = set(item_model.model_fields)

    def page_of(size: int) -> Page[ItemT]:
        window = selected[offset : offset + size]
        chosen = [
            item_model.model_validate({k: v for k, v in raw.items() if k in known or k in extra_fields})
            for raw in window
        ]
        end = offset + len(window)
        return Page[item_model](  # type: ignore[valid-type]
            total=len(selected),
            items=chosen,
            next_cursor=encode_cursor(end, query) if end < len(selected) else None,
            summary=summary,
            note=page_note(window, query, size),
        )

    return fit(budget_tokens, query.limit, page_of)


def page_note(raw_items: Sequence[Mapping[str, Any]], query: PageQuery, size: int) -> str | None:
    """What a page's text adds: why it is shorter than asked, and `fields=` names no item carries."""
    notes = []
    if size < query.limit:
        notes.append(
            f"showing {size} of the {query.limit} asked for, to stay within the output budget; "
            "pass next_cursor for more, or ask for fewer fields"
        )
    carried = {key for item in raw_items for key in item}
    missing = [name for name in query.fields or () if name not in carried]
    if missing and carried:
        notes.append(f"no item has {', '.join(missing)}; these items carry {', '.join(sorted(carried))}")
    return "; ".join(notes) or None


def project(raw: dict[str, Any], model: type[BaseModel], fields: list[str] | None) -> dict[str, Any]:
    """The item's model fields plus any extra `fields=` asked for: compact pages by default."""
    wanted = set(model.model_fields) | set(fields or ())
    return {k: v for k, v in raw.items() if k in wanted}
