"""Fitting answers into an assistant's context: list filtering, paging, summaries, budgets, text.

The API returns whole collections; a list tool filters them, summarises *all* matching items
(so "how many numbers have no calls?" needs no paging), and returns one compact page under an
opaque cursor. Every result is checked against the output budget before it leaves the server.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar, get_args

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, WithJsonSchema

from cs_mcp.models import ToolInput, fence, is_untrusted, neutralise_fences

ItemT = TypeVar("ItemT", bound=BaseModel)
ModelT = TypeVar("ModelT", bound=BaseModel)
TOP_VALUES = 8  # a count-by summary keeps the most frequent values and folds the rest into "(other)"
DEFAULT_PAGE_SIZE = 20


# --- Filters: markers on list-input fields saying how each one matches an item -----------------------


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


def filters_of(query: ToolInput) -> list[tuple[Filter, Any]]:
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


def filtered_fields(query_model: type[BaseModel]) -> set[str]:
    """The item fields a list query's filters read."""
    fields: set[str] = set()
    for info in query_model.model_fields.values():
        for marker in info.metadata:
            if isinstance(marker, Filter):
                fields.update(marker.fields if isinstance(marker, Contains) else (marker.field,))
    return fields


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
    budget_tokens: int,
) -> Page[ItemT]:
    """Filter, summarise, sort and page `items`, shrinking the page until it fits the budget."""
    matching = [item for item in items if all(f.keep(item, wanted) for f, wanted in filters_of(query))]
    sort = query.sort or default_sort
    if sort:
        field = sort.lstrip("-")
        if field not in sortable:
            raise QueryError(
                f"cannot sort by {field!r}: use one of {', '.join(sortable)}; -field sorts descending"
            )
        matching.sort(key=_sort_key(field), reverse=sort.startswith("-"))
    offset = decode_cursor(query.cursor, query)
    extra_fields = set(query.fields or ())
    known = set(item_model.model_fields)

    def page_of(size: int) -> Page[ItemT]:
        window = matching[offset : offset + size]
        chosen = [
            item_model.model_validate({k: v for k, v in raw.items() if k in known or k in extra_fields})
            for raw in window
        ]
        end = offset + len(window)
        return Page[item_model](  # type: ignore[valid-type]
            total=len(matching),
            items=chosen,
            next_cursor=encode_cursor(end, query) if end < len(matching) else None,
            summary=summarise(matching, count_by, sums),
            note=page_note(window, query, size),
        )

    page = page_of(query.limit)
    size = query.limit
    while size > 1 and estimate_result_tokens(page) > budget_tokens:
        size = max(1, size // 2)
        page = page_of(size)
    return page


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


# --- Token budget -------------------------------------------------------------------------------------

# o200k averages ~3.3 characters a token on this JSON (UUIDs and digits are dense); 3.0 keeps the
# estimate on the safe side. The budget test checks it against the real tokenizer.
CHARS_PER_TOKEN = 3.0
# Runs of letters, digits, spaces and single symbols: UUID- and timestamp-heavy text (a page of 40
# flows) runs near 2.3 characters a token, which a flat ratio underestimates by a fifth.
_PIECES = re.compile(r"[A-Za-z]+|\d+|\s+|[^\sA-Za-z\d]")


def _shape_tokens(text: str) -> int:
    count = 0
    for piece in _PIECES.findall(text):
        if piece[0].isalpha():
            count += math.ceil(len(piece) / 6)
        elif piece[0].isdigit():
            count += math.ceil(len(piece) / 3)
        elif piece[0].isspace():
            count += len(piece) > 1
        else:
            count += 1 if piece.isascii() else 2
    return math.ceil(count * 0.9)


def estimate_tokens(text: str) -> int:
    """At least the flat-ratio estimate; more where the text is dense (ids, numbers, timestamps)."""
    return max(math.ceil(len(text) / CHARS_PER_TOKEN), _shape_tokens(text))


def estimate_result_tokens(model: BaseModel) -> int:
    """Tokens of a result as sent: the structured JSON plus its text rendering."""
    structured = model.model_dump_json(exclude_none=True)
    return estimate_tokens(structured) + estimate_tokens(render(model))


# --- Fitting one answer: projections, clipped text, shrinking until it fits ---------------------------


def project(raw: dict[str, Any], model: type[BaseModel], fields: list[str] | None) -> dict[str, Any]:
    """The item's model fields plus any extra `fields=` asked for: compact pages by default."""
    wanted = set(model.model_fields) | set(fields or ())
    return {k: v for k, v in raw.items() if k in wanted}


def text_room(budget: int, reserve_tokens: int = 600) -> int:
    """Characters one long text may take in a result: it appears twice (JSON and text rendering)."""
    return max(200, int((budget - reserve_tokens) * CHARS_PER_TOKEN / 2))


async def fit_budget(budget: int, size: int, build: Callable[[int], Awaitable[ModelT]]) -> ModelT:
    """`build(size)` with size halved until the result fits the output budget (or is down to one)."""
    while True:
        result = await build(size)
        if size <= 1 or estimate_result_tokens(result) <= budget:
            return result
        size = max(1, size // 2)


def clip(text: str | None, limit: int) -> tuple[str | None, bool]:
    """`text` cut to `limit` characters at a word boundary, and whether it was cut."""
    if text is None or len(text) <= limit:
        return text, False
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut + " …", True


# --- Text rendering -----------------------------------------------------------------------------------


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_scalar(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(_scalar(v) for v in value)
    return str(value)


def _fields(model: BaseModel) -> Iterable[tuple[str, str]]:
    data = model.model_dump(mode="json", exclude_none=True)
    for name, value in data.items():
        attribute = getattr(model, name, None)
        if isinstance(attribute, BaseModel):
            yield name, "{" + ", ".join(f"{k}={v}" for k, v in _fields(attribute)) + "}"
        elif isinstance(attribute, list) and attribute and isinstance(attribute[0], BaseModel):
            yield name, f"[{len(attribute)} items]"
        elif is_untrusted(type(model), name) and _has_text(value):
            yield name, fence(_scalar(value))
        else:
            yield name, _inline(_scalar(value))


def _inline(text: str) -> str:
    """A trusted value in the rendering: it may not open or close a fence, nor start a line of its own
    (a preview's SMS body is the model's, but may quote a caller)."""
    return " ".join(neutralise_fences(text).splitlines())


def _has_text(value: Any) -> bool:
    """Whether a value holds any text (numbers and flags need no fence)."""
    if isinstance(value, str):
        return value != ""
    if isinstance(value, Mapping):
        return any(_has_text(k) or _has_text(v) for k, v in value.items())
    return isinstance(value, list | tuple) and any(_has_text(v) for v in value)


def render(model: BaseModel) -> str:
    """A compact text rendering of a result: one `key: value` line per fact, one line per list item.

    Untrusted data (`is_untrusted`: declared so, or an API object's undeclared field, however nested) is
    cleaned and fenced with ⟦untrusted: …⟧ so an assistant reads it as data; no value, trusted or not,
    can write a fence bracket. Fields excluded from the structured result (advice such as Page.note)
    close the text.
    """
    lines: list[str] = []
    for name, value in _fields(model):
        attribute = getattr(model, name, None)
        if isinstance(attribute, list) and attribute and isinstance(attribute[0], BaseModel):
            lines.append(f"{name} ({len(attribute)}):")
            lines.extend("- " + "; ".join(f"{k}={v}" for k, v in _fields(item)) for item in attribute)
        else:
            lines.append(f"{name}: {value}")
    for name, field in type(model).model_fields.items():
        if field.exclude and (advice := getattr(model, name)) is not None:
            lines.append(f"{name}: {_inline(str(advice))}")
    return "\n".join(lines)
