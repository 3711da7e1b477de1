"""Calls counted per group: by the Analytics API where it can group that way, else from the calls.

list_calls' `group_by` and get_call_analytics share this. The Analytics API groups by source, status,
flow, number, campaign, direction and time (taken to be in UTC, as the sandbox's are); it cannot group
by caller, nor by time in another zone. Then cs_mcp reads the matching calls themselves, every page,
several at once, and counts each page as it arrives: what it holds is a tally per group (and the ids
seen, to count a call once), never the calls, so a year of a large business's calls is counted in the
memory of its groups. The read is bounded (MAX_CALLS_COUNTED calls, READ_SECONDS), and the answer says
it was computed from paged calls. A sort other than the API's holds the calls it sorts, so it has a
lower bound of its own (MAX_CALLS_HELD).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

import anyio

from cs_mcp.api.calls import MAX_CALLS_PAGE, Calls
from cs_mcp.dimensions import value_of
from cs_mcp.errors import InvalidRequest
from cs_mcp.listing import QueryError

MISSED = frozenset({"no-answer", "busy", "failed"})
# Each dimension the Analytics API can group by, and its name there (both tools' names).
API_GROUP = {
    "source": "source",
    "status": "status",
    "direction": "direction",
    "tracking_number": "tracking_number",
    "number": "tracking_number",
    "call_flow_name": "call_flow",
    "call_flow": "call_flow",
    "utm_campaign": "utm_campaign",
    "campaign": "utm_campaign",
    "day": "date",
    "week": "week",
    "month": "month",
    "hour": "hour_of_day",
    "weekday": "day_of_week",
}
TIME_DIMENSIONS = frozenset({"day", "week", "month", "hour", "weekday"})
# get_call_analytics' short names for call fields; other dimensions are call fields or derived ones.
CALL_FIELD = {"number": "tracking_number", "call_flow": "call_flow_name", "campaign": "utm_campaign"}
Metric = Literal[
    "calls",
    "answered",
    "missed",
    "voicemail",
    "qualified",
    "answer_rate",
    "qualified_rate",
    "avg_duration_answered",
    "avg_duration",
]
METRICS: tuple[str, ...] = get_args(Metric)
# What one answer may read: 1,000 pages of 500, or READ_SECONDS, whichever comes first (at scale 100 the
# sandbox's 90 days, 162,415 calls, are counted in ~17 s, all 300,000 within the time); sorting keeps
# every call it sorts, so it reads fewer.
MAX_CALLS_COUNTED = 500_000
MAX_CALLS_HELD = 100_000
READ_SECONDS = 60
Progress = Callable[[int, int], Awaitable[None]]  # (pages read, pages in all)


@dataclass
class Tally:
    """What the metrics are computed from, for one group of calls."""

    calls: int = 0
    answered: int = 0
    missed: int = 0
    voicemail: int = 0
    qualified: int = 0
    duration: int = 0
    answered_duration: int = 0

    def add(self, status: Any, count: int, duration: int, qualified: int) -> None:
        self.calls += count
        self.duration += duration
        self.qualified += qualified
        if status == "completed":
            self.answered += count
            self.answered_duration += duration
        elif status == "voicemail":
            self.voicemail += count
        elif status in MISSED:
            self.missed += count

    def metric(self, name: str) -> int | float | None:
        """A metric by name: rates in percent to 1 decimal, averages in seconds (None without calls)."""
        match name:
            case "answer_rate":
                return _share(self.answered, self.calls)
            case "qualified_rate":
                return _share(self.qualified, self.calls)
            case "avg_duration":
                return round(self.duration / self.calls, 1) if self.calls else None
            case "avg_duration_answered":
                return round(self.answered_duration / self.answered, 1) if self.answered else None
            case _:
                value: int = getattr(self, name)
                return value


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass
class Counted:
    """Calls per group (keyed by the dimensions' values, in order) and over all matches."""

    groups: dict[tuple[Any, ...], Tally]
    totals: Tally
    computed_from_calls: bool = False
    pages_read: int = 0

    def how(self, dimensions: Sequence[str], cannot: str | None = None) -> str | None:
        """How the groups were counted, when it was not by the Analytics API: for the answer to say.
        `cannot`: what the API could not do, if not the grouping."""
        if not self.computed_from_calls:
            return None
        return (
            f"computed from the {self.totals.calls:,} matching calls, read in {self.pages_read:,} pages "
            f"(the Analytics API cannot {cannot or 'group by ' + ', '.join(dimensions)})"
        )

    def add(self, item: Mapping[str, Any], names: Sequence[str], zone: ZoneInfo) -> None:
        """One call from the log, into the totals and its group."""
        status, duration = item.get("status"), int(item.get("duration_seconds") or 0)
        qualified = 1 if item.get("qualified_ai") else 0
        self.totals.add(status, 1, duration, qualified)
        if names:
            key = tuple(value_of(item, name, zone) for name in names)
            self.groups.setdefault(key, Tally()).add(status, 1, duration, qualified)


def api_can_group(dimensions: Iterable[str], zone: ZoneInfo) -> bool:
    dims = set(dimensions)
    in_utc = str(zone) in ("UTC", "Etc/UTC")
    return dims <= set(API_GROUP) and (in_utc or not dims & TIME_DIMENSIONS)


async def count_calls(
    calls: Calls,
    filters: Mapping[str, Any],
    dimensions: Sequence[str],
    zone: ZoneInfo,
    progress: Progress | None = None,
    keep: Callable[[Mapping[str, Any]], bool] | None = None,
) -> Counted:
    """The matching calls counted per combination of `dimensions` (none: totals only); `keep`, a test
    the API cannot make (a weekday), leaves out the calls it fails, so those are counted from pages."""
    if keep is None and api_can_group(dimensions, zone):
        try:
            return await _from_analytics(calls, filters, dimensions)
        except InvalidRequest:  # an API whose analytics lack a metric used here: count the calls
            pass
    return await _from_pages(calls, filters, dimensions, zone, progress, keep)


async def _from_analytics(calls: Calls, filters: Mapping[str, Any], dimensions: Sequence[str]) -> Counted:
    """One request: the dimensions plus status (which every metric here splits on), with the sums."""
    fields = [API_GROUP[d] for d in dimensions]
    grouping = fields if "status" in fields else [*fields, "status"]
    answer = await calls.analytics(
        filters, group_by=grouping, metrics=["count", "total_duration", "qualified"]
    )
    counted = Counted({}, Tally())
    for row in answer.rows:
        key = tuple(row.get(f) for f in fields)
        tallies = (counted.groups.setdefault(key, Tally()), counted.totals)
        for tally in tallies:
            tally.add(
                row.get("status"),
                int(row.get("count") or 0),
                int(row.get("total_duration") or 0),
                int(row.get("qualified") or 0),
            )
    if not dimensions:
        counted.groups = {}
    return counted


async def _from_pages(
    calls: Calls,
    filters: Mapping[str, Any],
    dimensions: Sequence[str],
    zone: ZoneInfo,
    progress: Progress | None,
    keep: Callable[[Mapping[str, Any]], bool] | None,
) -> Counted:
    """Every matching call counted page by page as the pages arrive; only the tallies are kept."""
    counted = Counted({}, Tally(), computed_from_calls=True)
    names = [CALL_FIELD.get(d, d) for d in dimensions]
    seen: set[str] = set()  # ids: a call logged during the read shifts the pages by one

    async def take(items: list[dict[str, Any]]) -> None:
        for item in items:
            ident = item.get("id")
            if ident is not None:
                if ident in seen:
                    continue
                seen.add(str(ident))
            if keep is None or keep(item):
                counted.add(item, names, zone)
        counted.pages_read += 1
        await anyio.sleep(0)  # a page's counting is the loop's only work between reads: let others run

    why = f"grouping by {', '.join(dimensions)}" if dimensions else "counting"
    await _each_page(calls, filters, take, progress, bound=MAX_CALLS_COUNTED, why=why)
    return counted


async def read_calls(
    calls: Calls, filters: Mapping[str, Any], progress: Progress | None = None, *, why: str
) -> list[dict[str, Any]]:
    """Every matching call, newest first and each once (for a sort): refused past MAX_CALLS_HELD."""
    pages: dict[int, list[dict[str, Any]]] = {}

    async def take(items: list[dict[str, Any]]) -> None:
        pages[len(pages)] = items

    await _each_page(calls, filters, take, progress, bound=MAX_CALLS_HELD, why=why)
    found: dict[Any, dict[str, Any]] = {}
    for items in pages.values():
        for item in items:
            found.setdefault(item.get("id") or id(item), item)
    # The API's order (newest first), whatever order the pages came in; ties by id, so pages repeat.
    newest_first = sorted(
        found.values(), key=lambda item: (str(item.get("created_at") or ""), str(item.get("id")))
    )
    return newest_first[::-1]


async def _each_page(
    calls: Calls,
    filters: Mapping[str, Any],
    take: Callable[[list[dict[str, Any]]], Awaitable[None]],
    progress: Progress | None,
    *,
    bound: int,
    why: str,
) -> None:
    """`take` each page of the matching calls; refused before any is read past `bound` calls, and
    stopped past READ_SECONDS, each time saying how to narrow."""
    total = int((await calls.analytics(filters, group_by=[], metrics=["count"])).totals.get("count") or 0)
    if total > bound:
        raise QueryError(
            f"{total:,} calls match; {why} reads every matching call, at most {bound:,}: "
            "narrow since/before or another filter"
        )
    pages, done = -(-total // MAX_CALLS_PAGE), 0

    async def counted(items: list[dict[str, Any]]) -> None:
        nonlocal done
        await take(items)
        done += 1
        if progress is not None:
            await progress(done, pages)

    try:
        with anyio.fail_after(READ_SECONDS):
            await calls.each_page(filters, total=total, take=counted)
    except TimeoutError:
        raise QueryError(
            f"reading the {total:,} matching calls for {why} took over {READ_SECONDS} s "
            f"({done} of {pages} pages read): narrow since/before or another filter"
        ) from None
