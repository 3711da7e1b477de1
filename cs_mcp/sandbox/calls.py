"""Calls: compact storage for months of call records, the `/calls` filters, and the aggregates over them.

At scale 100 there are hundreds of thousands of calls, so each call is a flat tuple pointing into small
shared tables (tracking lines, callers, attributions); API dicts are built only for the calls a response
returns.
"""

from __future__ import annotations

import bisect
import functools
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from operator import countOf, itemgetter
from typing import Any, NamedTuple, overload

from cs_mcp.sandbox.formats import BASE_PATH, day_string, epoch, iso
from cs_mcp.sandbox.validation import Fields


class Line(NamedTuple):
    """A tracking number as it was when its calls were made (numbers are renamed and released later)."""

    number_id: str
    tracking_number: str
    call_flow_id: str | None
    call_flow_name: str | None
    destination_number: str


class Caller(NamedTuple):
    phone: str
    name: str | None
    city: str | None  # where the caller's area code is
    state: str | None


class Attribution(NamedTuple):
    source: str
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_term: str | None


Row = tuple[Any, ...]
# Positions in a call row.
(
    ID,
    TS,
    LINE,
    CALLER,
    DIRECTION,
    STATUS,
    ATTRIBUTION,
    DURATION,
    AI_SCORE,
    AI_CATEGORY,
    QUALIFIED,
    COST,
    VALUE,
) = range(13)
TRANSCRIBED, DAY_NUMBER, HOUR = 13, 14, 15  # the day (since 1970-01-01) and hour of TS, kept for grouping
ROBO_RISK, GCLID, LANDING_PAGE = 16, 17, 18  # the webhook payload's fields (docs of 2026-12-01)

STATUSES = ("completed", "no-answer", "voicemail", "busy", "failed")
MISSED = ("no-answer", "busy", "failed")
# An older docs page's statuses, each standing for the statuses it covers.
LEGACY_STATUSES = {"answered": ("completed",), "missed": MISSED}
DIRECTIONS = ("inbound", "outbound")
SCORING_DELAY = 180  # seconds after a call ends until AI scoring last updates it
MAX_LIMIT = 500
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

Narrator = Callable[[Row], tuple[str | None, str | None]]  # a call -> (summary, transcription)


def updated_ts(row: Row) -> int:
    return row[TS] + row[DURATION] + SCORING_DELAY


class CallTable(Sequence[dict[str, Any]]):
    """The business's calls, newest first. Indexing and iteration give API-shaped dicts."""

    def __init__(
        self,
        rows: list[Row],
        lines: list[Line],
        callers: list[Caller],
        attributions: list[Attribution],
        narrate: Narrator,
    ) -> None:
        self.rows = sorted(rows, key=itemgetter(TS), reverse=True)
        self.lines = lines
        self.callers = callers
        self.attributions = attributions
        self.narrate = narrate
        self._positions: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self.as_dict(row) for row in self.rows[index]]
        return self.as_dict(self.rows[index])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return map(self.as_dict, self.rows)

    def find(self, call_id: str) -> Row | None:
        if self._positions is None:  # built on the first lookup: most sandboxes never need it
            self._positions = {row[ID]: i for i, row in enumerate(self.rows)}
        position = self._positions.get(call_id)
        return None if position is None else self.rows[position]

    def as_dict(self, row: Row, base_url: str = BASE_PATH) -> dict[str, Any]:
        line = self.lines[row[LINE]]
        caller = self.callers[row[CALLER]]
        attribution = self.attributions[row[ATTRIBUTION]]
        outbound = row[DIRECTION] == "outbound"
        return {
            "id": row[ID],
            "created_at": iso(row[TS]),
            "updated_at": iso(updated_ts(row)),
            "direction": row[DIRECTION],
            "status": row[STATUS],
            "caller_number": caller.phone,
            "caller_name": caller.name,
            "caller_city": caller.city,
            "caller_state": caller.state,
            "tracking_number": line.tracking_number,
            "destination_number": caller.phone if outbound else line.destination_number,
            "duration_seconds": row[DURATION],
            "recording_url": f"{base_url}/calls/{row[ID]}/recording" if has_recording(row) else None,
            "has_recording": has_recording(row),
            "has_transcription": row[TRANSCRIBED],
            "number_id": line.number_id,
            "call_flow_id": line.call_flow_id,
            "call_flow_name": line.call_flow_name,
            **attribution._asdict(),
            "gclid": row[GCLID],
            "landing_page_url": row[LANDING_PAGE],
            "ai_score": row[AI_SCORE],
            "ai_category": row[AI_CATEGORY],
            "qualified_ai": row[QUALIFIED],
            "robo_risk_score": row[ROBO_RISK],
            "cost_cents": row[COST],
            "value_cents": row[VALUE],
        }

    def detail(self, row: Row, base_url: str = BASE_PATH) -> dict[str, Any]:
        """`GET /calls/{id}`: the list fields plus the AI summary and the transcription."""
        summary, transcription = self.narrate(row)
        return {**self.as_dict(row, base_url), "summary": summary, "transcription": transcription}

    def lines_of(self, number_ids: set[str] | None = None, call_flow_id: str | None = None) -> set[int]:
        return {
            i
            for i, line in enumerate(self.lines)
            if (number_ids is None or line.number_id in number_ids)
            and (call_flow_id is None or line.call_flow_id == call_flow_id)
        }


def has_recording(row: Row) -> bool:
    return row[STATUS] in ("completed", "voicemail") and row[DURATION] > 0


@dataclass
class CallFilters:
    """The documented `GET /calls` filters, parsed and checked."""

    start: int | None = None
    end: int | None = None
    updated_since: int | None = None
    statuses: tuple[str, ...] | None = None
    direction: str | None = None
    source: str | None = None
    number_ids: set[str] | None = None
    call_flow_id: str | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    min_ai_score: int | None = None
    max_ai_score: int | None = None
    qualified: bool | None = None
    search: str | None = None

    @classmethod
    def parse(cls, query: Fields, group_members: Callable[[str], set[str]]) -> CallFilters:
        """`group_members` resolves number_group_id (and answers 422 for an unknown group).

        An older docs page's names are accepted too (see `parse_range`), and its statuses answered
        and missed (`LEGACY_STATUSES`).
        """
        start, end = cls.parse_range(query)
        since = query.moment("updated_since")
        number_ids = None
        if (number_id := query.uuid("number_id")) is not None:
            number_ids = {number_id}
        if (group_id := query.uuid("number_group_id")) is not None:
            members = group_members(group_id)
            number_ids = members if number_ids is None else number_ids & members
        status = query.choice("status", (*STATUSES, *LEGACY_STATUSES))
        return cls(
            start=start,
            end=end,
            updated_since=epoch(since) if since else None,
            statuses=None if status is None else LEGACY_STATUSES.get(status, (status,)),
            direction=query.choice("direction", DIRECTIONS),
            source=query.string("source"),
            number_ids=number_ids,
            call_flow_id=query.uuid("call_flow_id"),
            min_duration=query.integer("min_duration", minimum=0, maximum=86_400),
            max_duration=query.integer("max_duration", minimum=0, maximum=86_400),
            min_ai_score=query.integer("min_ai_score", minimum=0, maximum=100),
            max_ai_score=query.integer("max_ai_score", minimum=0, maximum=100),
            qualified=query.boolean("qualified"),
            search=query.string("search"),
        )

    @staticmethod
    def parse_range(query: Fields) -> tuple[int | None, int | None]:
        """start_date and end_date (exclusive), as epoch seconds; or their legacy names date_from, date_to."""
        start_name, end_name = query.sent_as("start_date", "date_from"), query.sent_as("end_date", "date_to")
        start, end = query.day(start_name), query.day(end_name)
        if start and end and end <= start:
            query.fail(end_name, f"must be after {start_name} (the end date is exclusive)")
        return (epoch(start) if start else None), (epoch(end) if end else None)

    def select(self, table: CallTable) -> list[Row]:
        """The matching rows, newest first."""
        rows = table.rows
        # Rows are sorted by time (descending), so a date range is a slice found by bisection.
        low = 0 if self.end is None else bisect.bisect_right(rows, -self.end, key=lambda r: -r[TS])
        high = (
            len(rows) if self.start is None else bisect.bisect_right(rows, -self.start, key=lambda r: -r[TS])
        )
        rows = rows[low:high]
        lines = None
        if self.number_ids is not None or self.call_flow_id is not None:
            lines = table.lines_of(self.number_ids, self.call_flow_id)
        checks: list[tuple[Any, Callable[[Row, Any], bool]]] = [
            (lines, lambda r, v: r[LINE] in v),
            (self.statuses, lambda r, v: r[STATUS] in v),
            (self.direction, lambda r, v: r[DIRECTION] == v),
            (self.updated_since, lambda r, v: updated_ts(r) >= v),
            (self.min_duration, lambda r, v: r[DURATION] >= v),
            (self.max_duration, lambda r, v: r[DURATION] <= v),
            (self.min_ai_score, lambda r, v: r[AI_SCORE] is not None and r[AI_SCORE] >= v),
            (self.max_ai_score, lambda r, v: r[AI_SCORE] is not None and r[AI_SCORE] <= v),
            (self.qualified, lambda r, v: r[QUALIFIED] == v),
            (self._sources(table), lambda r, v: r[ATTRIBUTION] in v),
            (self._search_targets(table), _matches_search),
        ]
        for value, check in checks:
            if value is not None:
                rows = [r for r in rows if check(r, value)]
        return rows

    def _sources(self, table: CallTable) -> set[int] | None:
        if self.source is None:
            return None
        return {i for i, a in enumerate(table.attributions) if a.source == self.source.lower()}

    def _search_targets(self, table: CallTable) -> tuple[set[int], set[int], set[int]] | None:
        """Which callers, lines and attributions contain the search text (case-insensitive).

        Searched: caller number and name, tracking number, call flow name, UTM campaign. A search made
        only of phone characters also matches phone numbers by their digits.
        """
        if self.search is None:
            return None
        needle = self.search.lower()
        digits = "".join(c for c in needle if c.isdigit()) if set(needle) <= set("0123456789+-() .") else ""

        def hit(*texts: str | None) -> bool:
            return any(t and (needle in t.lower() or (digits and digits in t)) for t in texts)

        callers = {i for i, c in enumerate(table.callers) if hit(c.phone, c.name)}
        lines = {i for i, ln in enumerate(table.lines) if hit(ln.tracking_number, ln.call_flow_name)}
        attributions = {i for i, a in enumerate(table.attributions) if hit(a.utm_campaign)}
        return callers, lines, attributions


def _matches_search(row: Row, targets: tuple[set[int], set[int], set[int]]) -> bool:
    callers, lines, attributions = targets
    return row[CALLER] in callers or row[LINE] in lines or row[ATTRIBUTION] in attributions


class Tally:
    """Counts over a set of calls, each computed when first asked for; every stats endpoint uses one."""

    def __init__(self, rows: Sequence[Row]) -> None:
        self.rows = rows
        self.count = len(rows)

    @functools.cached_property
    def statuses(self) -> Counter[str]:
        return Counter(map(itemgetter(STATUS), self.rows))

    @property
    def answered(self) -> int:
        return self.statuses["completed"]

    @property
    def missed(self) -> int:
        return sum(self.statuses[s] for s in MISSED)

    @property
    def voicemails(self) -> int:
        return self.statuses["voicemail"]

    @functools.cached_property
    def qualified(self) -> int:
        return sum(map(itemgetter(QUALIFIED), self.rows))

    @functools.cached_property
    def total_duration(self) -> int:
        return sum(map(itemgetter(DURATION), self.rows))

    @property
    def avg_duration(self) -> float:
        """Mean duration over all the calls (unanswered ones count as 0 s)."""
        return round(self.total_duration / self.count, 1) if self.count else 0.0

    def metric(self, name: str) -> int | float | None:
        match name:
            case "qualified_pct":
                return self._percent(self.qualified)
            case "answer_rate":
                return self._percent(self.answered)
            case "voicemail":
                return self.voicemails
            case "avg_ai_score":  # over the scored calls; both passes run in C
                scored = self.count - countOf(map(itemgetter(AI_SCORE), self.rows), None)
                total = sum(filter(None, map(itemgetter(AI_SCORE), self.rows)))  # zeros add nothing
                return round(total / scored, 1) if scored else None
            case _:
                return getattr(self, name)

    def _percent(self, part: int) -> float:
        """`part` as a share of all the calls, in percent to 1 decimal."""
        return round(100 * part / self.count, 1) if self.count else 0.0


GROUP_FIELDS = (
    "source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "call_flow",
    "call_flow_id",
    "tracking_number",
    "number_id",
    "ai_category",
    "status",
    "direction",
    "date",
    "week",
    "month",
    "hour_of_day",
    "day_of_week",
)
TIME_FIELDS = ("date", "week", "month", "hour_of_day", "day_of_week")
METRICS = (
    "count",
    "avg_duration",
    "qualified_pct",
    "avg_ai_score",
    "total_duration",
    "missed",
    "answered",
    "voicemail",
    "qualified",
    "answer_rate",
)
MAX_GROUP_BY = 3
_day = functools.cache(day_string)


def _as_is(code: Any) -> Any:
    return code


def _grouping(table: CallTable, field: str) -> tuple[int, Callable[[Any], Any]]:
    """Where a row keeps the code of its group for `field`, and how a code becomes the reported value.

    Grouping on codes stored in the rows (positions in the shared tables, day numbers) and naming the
    groups afterwards keeps the per-row work in C, which matters at scale 100.
    """
    if field in Attribution._fields:
        position, attributions = Attribution._fields.index(field), table.attributions
        return ATTRIBUTION, lambda code: attributions[code][position]
    if field in ("call_flow", "call_flow_id", "tracking_number", "number_id"):
        position, lines = Line._fields.index("call_flow_name" if field == "call_flow" else field), table.lines
        return LINE, lambda code: lines[code][position]
    groupings: dict[str, tuple[int, Callable[[Any], Any]]] = {
        "ai_category": (AI_CATEGORY, _as_is),
        "status": (STATUS, _as_is),
        "direction": (DIRECTION, _as_is),
        "date": (DAY_NUMBER, _day),
        "week": (DAY_NUMBER, lambda day: _day(day - (day + 3) % 7)),  # 1970-01-01 was a Thursday
        "month": (DAY_NUMBER, lambda day: _day(day)[:7]),
        "day_of_week": (DAY_NUMBER, lambda day: DAY_NAMES[(day + 3) % 7]),
        "hour_of_day": (HOUR, _as_is),
    }
    return groupings[field]


def analytics(table: CallTable, rows: list[Row], group_by: list[str], metrics: list[str]) -> dict[str, Any]:
    """One row per group (its group fields, then the metrics) and the totals over all rows.

    Without group_by: one row, equal to the totals. Rows come in time order when the first group
    field is a time field, else busiest group first.
    """
    totals = _metrics(Tally(rows), metrics)
    if not group_by:
        return {"group_by": [], "rows": [dict(totals)], "totals": totals}
    positions, namers = zip(*(_grouping(table, field) for field in group_by), strict=True)
    single = len(positions) == 1

    def name(code: Any) -> tuple[Any, ...]:  # several codes can name one group (two lines on one flow)
        return tuple(namer(part) for namer, part in zip(namers, (code,) if single else code, strict=True))

    codes = map(itemgetter(*positions), rows)
    sizes: Counter[tuple[Any, ...]] = Counter()
    if metrics == ["count"]:  # counting alone needs no rows kept, and runs in C
        for code, count in Counter(codes).items():
            sizes[name(code)] += count
        measured: dict[tuple[Any, ...], dict[str, int | float | None]]
        measured = {key: {"count": count} for key, count in sizes.items()}
    else:
        by_code: dict[Any, list[Row]] = {}
        for code, row in zip(codes, rows, strict=True):
            members = by_code.get(code)
            if members is None:
                by_code[code] = [row]
            else:
                members.append(row)
        groups: dict[tuple[Any, ...], list[Row]] = {}
        for code, members in by_code.items():
            groups.setdefault(name(code), []).extend(members)
        sizes.update({key: len(members) for key, members in groups.items()})
        measured = {key: _metrics(Tally(members), metrics) for key, members in groups.items()}
    if group_by[0] in TIME_FIELDS:
        first = (lambda k: DAY_NAMES.index(k[0])) if group_by[0] == "day_of_week" else (lambda k: k[0])
        order = sorted(measured, key=lambda k: (first(k), -sizes[k]))
    else:
        order = sorted(measured, key=lambda k: (-sizes[k], [str(v) for v in k]))
    out_rows = [{**dict(zip(group_by, key, strict=True)), **measured[key]} for key in order]
    return {"group_by": group_by, "rows": out_rows, "totals": totals}


def _metrics(tally: Tally, metrics: list[str]) -> dict[str, int | float | None]:
    return {m: tally.metric(m) for m in metrics}
