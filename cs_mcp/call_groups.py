"""Calls counted per group: by the Analytics API where it can group that way, else from the calls.

list_calls' `group_by` and get_call_analytics share this. The Analytics API groups by source, status,
flow, number, campaign, direction and time (taken to be in UTC, as the sandbox's are); it cannot group
by caller, nor by time in another zone. Then cs_mcp reads the matching calls themselves (every page,
several at once, at most MAX_CALLS_READ of them within READ_SECONDS) and counts them here, and the
answer says it did.
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
MAX_CALLS_READ = 100_000
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
    calls_read: int | None = None


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
) -> Counted:
    """The matching calls counted per combination of `dimensions` (none: totals only)."""
    if api_can_group(dimensions, zone):
        try:
            return await _from_analytics(calls, filters, dimensions)
        except InvalidRequest:  # an API whose analytics lack a metric used here: count the calls
            pass
    found = await read_calls(calls, filters, progress, why=f"grouping by {', '.join(dimensions)}")
    counted = tally_calls(found, dimensions, zone)
    counted.computed_from_calls, counted.calls_read = True, len(found)
    return counted


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


async def read_calls(
    calls: Calls, filters: Mapping[str, Any], progress: Progress | None = None, *, why: str
) -> list[dict[str, Any]]:
    """Every matching call, read page by page: refused past MAX_CALLS_READ or READ_SECONDS."""
    total = int((await calls.analytics(filters, group_by=[], metrics=["count"])).totals.get("count") or 0)
    if total > MAX_CALLS_READ:
        raise QueryError(
            f"{total} calls match; {why} reads every matching call, at most {MAX_CALLS_READ:,}: "
            "narrow since/before or another filter"
        )
    pages = -(-total // MAX_CALLS_PAGE)

    async def report(done: int) -> None:
        if progress is not None:
            await progress(done, pages)

    try:
        with anyio.fail_after(READ_SECONDS):
            return await calls.every(filters, total=total, progress=report)
    except TimeoutError:
        raise QueryError(
            f"reading the {total} matching calls for {why} took over {READ_SECONDS} s: "
            "narrow since/before or another filter"
        ) from None


def tally_calls(found: Iterable[Mapping[str, Any]], dimensions: Sequence[str], zone: ZoneInfo) -> Counted:
    counted = Counted({}, Tally())
    names = [CALL_FIELD.get(d, d) for d in dimensions]
    for item in found:
        status, duration = item.get("status"), int(item.get("duration_seconds") or 0)
        qualified = 1 if item.get("qualified_ai") else 0
        counted.totals.add(status, 1, duration, qualified)
        if names:
            key = tuple(value_of(item, name, zone) for name in names)
            counted.groups.setdefault(key, Tally()).add(status, 1, duration, qualified)
    return counted
