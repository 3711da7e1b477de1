"""Lists of tens of thousands of items are worked through a slice at a time (the event loop gets turns),
with the same answers a whole-list pass gives: the same first items in a stable sort order, the same
counts and sums, and the same JSON from a big body decoded in slices."""

from __future__ import annotations

import contextlib
import json
import random
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import anyio
import pytest

from cs_mcp import listing, sliced_json
from cs_mcp.dimensions import UTC
from cs_mcp.listing import SLICE_ITEMS, TOP_VALUES
from cs_mcp.toolsets import reporting
from cs_mcp.toolsets.numbers import ListNumbers, NumberItem

pytestmark = pytest.mark.anyio

MANY = SLICE_ITEMS * 3 + 17  # several slices and a short last one


def whole_list_summary(
    items: Sequence[Mapping[str, Any]], count_by: Sequence[str], sums: Sequence[str]
) -> dict[str, Any]:
    """The summary as one pass over every item names it: each value by its text, first seen first."""
    summary: dict[str, Any] = {}
    for field in count_by:
        counts = Counter("(none)" if item.get(field) is None else str(item.get(field)) for item in items)
        top = dict(counts.most_common(TOP_VALUES))
        if len(counts) > TOP_VALUES:
            top["(other)"] = sum(counts.values()) - sum(top.values())
            top["(distinct)"] = len(counts)
        summary[f"by_{field}"] = top
    for field in sums:
        values = [item.get(field) or 0 for item in items]
        summary[field] = {"sum": sum(values), "zero": values.count(0), "max": max(values, default=0)}
    return summary


def mixed_items(count: int, seed: int) -> list[dict[str, Any]]:
    """Items whose fields hold what API data may: missing values, numbers and text in one field, ties."""
    rng = random.Random(seed)
    kinds = [None, 3, 3.0, "3", "b", "B", "a", 10, -1, 2.5]
    return [
        {
            "id": n,
            "score": rng.choice(kinds),
            "name": rng.choice(["alpha", "Alpha", "beta", None, "gamma"]),
            "calls": rng.choice([0, 0, 1, 7, None, 2.5]),
            "status": f"s{rng.randrange(12)}",  # more values than a summary shows
        }
        for n in range(count)
    ]


@contextlib.asynccontextmanager
async def turns_counted() -> AsyncIterator[list[int]]:
    """Counts the turns a busy-looping task gets while the body runs: `[turns]`, read after the body."""
    turns = [0]

    async def count_turns() -> None:
        while True:
            turns[0] += 1
            await anyio.sleep(0)

    async with anyio.create_task_group() as group:
        group.start_soon(count_turns)
        await anyio.sleep(0)
        before = turns[0]
        yield turns
        group.cancel_scope.cancel()
    turns[0] -= before


@pytest.mark.parametrize("sort", ["score", "-score", "name", "-name", "calls", "-id", None])
@pytest.mark.parametrize("wanted", [0, 1, 20, SLICE_ITEMS + 3, MANY + 5])
async def test_the_first_items_are_those_a_stable_sort_of_every_item_puts_first(
    sort: str | None, wanted: int
) -> None:
    items = mixed_items(MANY, seed=wanted)
    expected = list(items)
    if sort:
        key = listing._sort_key(sort.lstrip("-"), UTC)
        expected.sort(key=key, reverse=sort.startswith("-"))
    selection = await listing.select(
        items,
        ListNumbers(),
        count_by=(),
        sums=(),
        sort=sort,
        sortable=("score", "name", "calls", "id"),
        zone=UTC,
        wanted=wanted,
    )
    assert [item["id"] for item in selection.first] == [item["id"] for item in expected[:wanted]]
    assert selection.matched == items


async def test_counts_and_sums_over_slices_equal_one_pass_over_every_item() -> None:
    items = mixed_items(MANY, seed=7)
    items[SLICE_ITEMS + 1]["score"] = True  # reads "True", apart from 1 and 1.0 though equal as keys
    items[SLICE_ITEMS * 2]["score"] = 1
    items[5]["score"] = 1.0
    items[SLICE_ITEMS * 3]["name"] = ["a", "list"]  # not a dict key: counted by its text
    selection = await listing.select(
        items,
        ListNumbers(),
        count_by=("score", "name", "status", "absent"),
        sums=("calls", "absent"),
        sort=None,
        sortable=(),
        zone=UTC,
        wanted=0,
    )
    expected = whole_list_summary(items, ("score", "name", "status", "absent"), ("calls", "absent"))
    assert selection.summary == expected
    assert list(selection.summary["by_status"]) == list(expected["by_status"])  # ties in the same order


async def test_values_equal_as_keys_but_read_apart_are_counted_apart_even_slices_apart() -> None:
    """1, 1.0 and True are one dict key; the summary names them apart, as the items show them."""
    values = [1] * SLICE_ITEMS + [True, 1.0, None] * 3
    items = [{"flag": value} for value in values]
    summary = listing.summarise(items, ("flag",), ())
    assert summary == {"by_flag": {"1": SLICE_ITEMS, "True": 3, "1.0": 3, "(none)": 3}}
    selection = await listing.select(
        items, ListNumbers(), count_by=("flag",), sums=(), sort=None, sortable=(), zone=UTC, wanted=0
    )
    assert selection.summary == summary


async def test_filters_apply_across_slices() -> None:
    items = [{"id": str(n), "status": "paused" if n % 3 else "active"} for n in range(MANY)]
    selection = await listing.select(
        items,
        ListNumbers(status="active"),
        count_by=("status",),
        sums=(),
        sort="-id",
        sortable=("id",),
        zone=UTC,
        wanted=5,
    )
    active = [item for item in items if item["status"] == "active"]
    assert selection.matched == active
    assert selection.summary == {"by_status": {"active": len(active)}}
    assert selection.first == sorted(active, key=lambda item: item["id"], reverse=True)[:5]


async def test_a_big_list_gives_other_tasks_turns_and_is_emptied_once_paged() -> None:
    numbers = [
        {"id": f"n{n}", "name": f"Line {n}", "phone_number": f"+1555{n:07d}", "status": "active"}
        for n in range(MANY)
    ]
    async with turns_counted() as turns:
        page = await listing.build_page(
            numbers, ListNumbers(), NumberItem, count_by=("status",), sortable=("name",),
            default_sort="name", budget_tokens=4000,
        )  # fmt: skip
    slices = -(-MANY // SLICE_ITEMS)
    assert turns[0] >= 2 * (slices - 1), "a turn between slices, matching and then releasing"
    assert page.model.total == MANY and page.model.summary == {"by_status": {"active": MANY}}
    assert [item.name for item in page.model.items][:2] == ["Line 0", "Line 1"]
    assert numbers == [], "build_page takes the list over and empties it"


async def test_a_small_list_is_paged_without_a_turn() -> None:
    """Lists of everyday size cost no scheduling: one slice, no yield."""
    numbers = [{"id": f"n{n}", "name": f"Line {n}", "status": "active"} for n in range(SLICE_ITEMS)]
    async with turns_counted() as turns:
        await listing.build_page(numbers, ListNumbers(), NumberItem, budget_tokens=4000)
    assert turns == [0]


async def test_failed_deliveries_are_counted_a_slice_at_a_time_as_one_pass_counts_them() -> None:
    """The webhook log's failures by status code (37,000 deliveries at scale 100): other tasks get turns,
    and the counts, names ("no response" for none or 0) and tie order are a whole-list pass's."""
    rng = random.Random(5)
    codes = [None, 0, 500, 502, 404, 410, 429, 503, 504, 400, 401]
    deliveries = [
        {"outcome": rng.choice(["success", "failed"]), "status_code": rng.choice(codes)} for _ in range(MANY)
    ]
    async with turns_counted() as turns:
        summary = await reporting._failures(deliveries)
    assert turns[0] >= -(-MANY // SLICE_ITEMS) - 1
    one_pass = Counter(str(d["status_code"] or "no response") for d in deliveries if d["outcome"] == "failed")
    assert list(summary["failed_by_status_code"].items()) == one_pass.most_common(8)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32-be", "utf-8-sig"])
async def test_a_body_decoded_in_slices_reads_as_json_loads_reads_its_bytes(encoding: str) -> None:
    # Three-byte and four-byte characters land on every side of the slice boundaries.
    names = [("é€😀" * (n % 7)) + f"x{n}" for n in range(sliced_json.DECODE_SLICE_BYTES // 8)]
    body = json.dumps({"data": {"names": names}}, ensure_ascii=False).encode(encoding)
    assert len(body) > 2 * sliced_json.DECODE_SLICE_BYTES
    assert await sliced_json.loads(body, slice_seconds=0) == json.loads(body)


async def test_a_body_that_is_not_text_is_refused_as_json_loads_refuses_it() -> None:
    body = b'{"data": ["' + b"a" * sliced_json.DECODE_SLICE_BYTES + b'\xff"]}'
    with pytest.raises(UnicodeDecodeError):
        json.loads(body)
    with pytest.raises(UnicodeDecodeError):
        await sliced_json.loads(body)
