"""The moment the benchmark is asked at, and the date windows its questions name.

The sandbox is deterministic for a given scale and `now`, so fixing `now` fixes every answer. A Monday
midnight (UTC, the business time zone by default): "this month" is 1-15 November, "last week" the seven
days before, and the dashboard's periods end exactly at `now`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

NOW = datetime(2026, 11, 16, tzinfo=UTC)
TODAY = NOW.date()

Window = tuple[str, str]  # (since, before): ISO dates, since inclusive, before exclusive


def days_back(days: int, end: date = TODAY) -> Window:
    return ((end - timedelta(days=days)).isoformat(), end.isoformat())


LAST_7 = days_back(7)
PREVIOUS_7 = days_back(7, TODAY - timedelta(days=7))
LAST_30 = days_back(30)
PREVIOUS_30 = days_back(30, TODAY - timedelta(days=30))
LAST_90 = days_back(90)
LAST_12_WEEKS = days_back(84)  # twelve whole ISO weeks: NOW is a Monday
THIS_MONTH = ("2026-11-01", TODAY.isoformat())
LAST_MONTH = ("2026-10-01", "2026-11-01")
LAST_MONTH_SAME_DAYS = ("2026-10-01", "2026-10-16")
AUGUST_TO_OCTOBER = ("2026-08-01", "2026-11-01")
SINCE_FRIDAY = days_back(3)
SINCE_OCTOBER = ("2026-10-01", TODAY.isoformat())
