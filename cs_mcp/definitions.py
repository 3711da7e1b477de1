"""What the call figures mean, and the business's clock.

Questions hinge on words the API never defines ("missed", "qualified", the dashboard's "7d"). They are
worded once here and said the same way everywhere a model may read them: the server instructions,
get_capabilities, and the output schemas' field descriptions. The wording follows the API as the
sandbox serves it (cs_mcp/sandbox/__init__.py): answered is status completed; missed is no-answer,
busy and failed (voicemails counted apart); qualified is the call's qualified_ai flag; the dashboard's
periods are rolling windows ending at the API's current time.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import Field

from cs_mcp.models import LazyModel

# The API's statuses behind the words.
ANSWERED_STATUS = "completed"
MISSED_STATUSES = ("no-answer", "busy", "failed")
VOICEMAIL_STATUS = "voicemail"

ANSWERED = "calls with status completed"
MISSED = "calls with status no-answer, busy or failed (voicemails are counted apart)"
VOICEMAIL = "calls with status voicemail"
QUALIFIED = "calls whose qualified flag (qualified_ai, set by CallScaler's AI) is true"
ANSWER_RATE = "100 * answered / calls, in percent to 1 decimal"
QUALIFIED_RATE = "100 * qualified / calls, in percent to 1 decimal"
AVG_DURATION = "mean duration in seconds over every call (unanswered ones count as 0 s)"
AVG_DURATION_ANSWERED = "mean duration in seconds over answered calls only"
DATE_FILTERS = "since/before are whole days (YYYY-MM-DD) in UTC, as the API reads them"
STATUS = "completed = answered; no-answer, busy, failed = missed; voicemail"

# The dashboard's periods, as the API computes them: whole 24-hour spans ending at its current time, so a
# "7d" read at mid-morning touches 8 calendar dates (its start_date through end_date).
PERIODS = {
    "today": "the 24 hours before now (not the calendar day)",
    "7d": "the 7 x 24 hours before now: start_date through end_date, 8 calendar dates (7 when now is 00:00)",
    "30d": "the 30 x 24 hours before now (31 calendar dates, 30 when now is 00:00)",
    "90d": "the 90 x 24 hours before now (91 calendar dates, 90 when now is 00:00)",
    "all": "every call",
}
# The sandbox's clock stands at 00:00 UTC today, so each period is whole UTC days before today.
SANDBOX_PERIODS = (
    "the sandbox API's now is 00:00 UTC today: 'today' is yesterday (UTC) and each period equals "
    "since=start_date, before=end_date"
)
PERIOD = "; ".join(f"{name}: {meaning}" for name, meaning in PERIODS.items())

DEFINITIONS = {
    "answered": ANSWERED,
    "missed": MISSED,
    "voicemail": VOICEMAIL,
    "qualified": QUALIFIED,
    "answer_rate": ANSWER_RATE,
    "qualified_rate": QUALIFIED_RATE,
    "avg_duration": AVG_DURATION,
    "avg_duration_answered": AVG_DURATION_ANSWERED,
    "dates": DATE_FILTERS,
    **{f"period {name}": meaning for name, meaning in PERIODS.items()},
}

# One sentence for the server instructions: the words a count question needs before any tool call.
INSTRUCTIONS_SENTENCE = (
    "Calls: answered = status completed; missed = no-answer, busy or failed; voicemail apart; qualified = "
    "the qualified flag; date filters are UTC days; get_capabilities has the definitions, the business "
    "time zone and what each dashboard period spans."
)


class Clock(LazyModel):
    today: str = Field(description="today's date (YYYY-MM-DD) in the business time zone")
    time_zone: str = Field(description="the business time zone (IANA), for weekday/hour/day groupings")
    utc_offset: str = Field(description="the time zone's offset from UTC now, e.g. -05:00")


def clock(zone: ZoneInfo, now: datetime | None = None) -> Clock:
    """Today's date and the offset in the business time zone (`now`: the moment, default the current one)."""
    local = (now or datetime.now(zone)).astimezone(zone)
    offset = local.strftime("%z")
    return Clock(today=local.date().isoformat(), time_zone=zone.key, utc_offset=f"{offset[:3]}:{offset[3:]}")


def today_sentence(zone: ZoneInfo) -> str:
    """The instructions' date line, as of the session's start (get_capabilities has the current one)."""
    now = clock(zone)
    return f"Today is {now.today} in the business time zone {now.time_zone} (UTC{now.utc_offset})."
