"""The exact answer to every benchmark question, computed from the raw sandbox: the numbers list as
GET /numbers answers it (the API adds group names there), every other record from `sandbox.state`.

Nothing here imports cs_mcp's tools, models or summaries: each answer is tallied from the records
with the definitions the API contract gives (answered = completed; missed = no-answer, busy or failed;
qualified = qualified_ai; dates in UTC, the business time zone by default; `before` exclusive), so
a tool that gets a definition or a window wrong shows up as a wrong answer.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx

from benchmarks.questions import when
from benchmarks.questions.expect import Approx, top_of
from cs_mcp.sandbox import SANDBOX_KEYS, Sandbox, SandboxTransport

MISSED = frozenset({"no-answer", "busy", "failed"})
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class CallRecord(NamedTuple):
    """The fields of a call the questions ask about, with its moment cut into calendar parts (UTC)."""

    id: str
    created_at: str
    day: str
    hour: int
    weekday: str
    week: str  # the Monday starting its ISO week
    month: str
    direction: str
    status: str
    caller: str
    tracking_number: str
    source: str
    campaign: str | None
    qualified: bool
    duration: int


@functools.cache
def _calendar_of(day: str) -> tuple[str, str]:
    """(weekday, ISO week's Monday) of a YYYY-MM-DD day."""
    moment = date.fromisoformat(day)
    return WEEKDAYS[moment.weekday()], (moment - timedelta(days=moment.weekday())).isoformat()


def _record(call: dict[str, Any]) -> CallRecord:
    stamp = call["created_at"]  # "2026-11-15T23:59:16Z"
    day = stamp[:10]
    weekday, week = _calendar_of(day)
    return CallRecord(
        call["id"],
        stamp,
        day,
        int(stamp[11:13]),
        weekday,
        week,
        stamp[:7],
        call["direction"],
        call["status"],
        call["caller_number"],
        call["tracking_number"],
        call["source"],
        call["utm_campaign"],
        bool(call["qualified_ai"]),
        call["duration_seconds"] or 0,
    )


@dataclass(frozen=True)
class Raw:
    """The sandbox's records, read once."""

    numbers: list[dict[str, Any]]
    calls: list[CallRecord]
    state: Any  # the sandbox's state: texts, voicemails, forms, groups, flows, deliveries, conversations

    def calls_in(self, window: when.Window, **equal: Any) -> Iterator[CallRecord]:
        since, before = window
        for call in self.calls:
            if since <= call.day < before and all(getattr(call, k) == v for k, v in equal.items()):
                yield call

    def in_window(
        self, records: Iterable[dict[str, Any]], window: when.Window | None
    ) -> list[dict[str, Any]]:
        if window is None:
            return list(records)
        since, before = window
        return [r for r in records if since <= r["created_at"][:10] < before]

    def number(self, name: str) -> dict[str, Any]:
        return next(n for n in self.numbers if n["name"] == name)

    @functools.cached_property
    def subjects(self) -> dict[str, str]:
        return pick_subjects(self)


async def load(sandbox: Sandbox) -> Raw:
    async with httpx.AsyncClient(
        transport=SandboxTransport(sandbox),
        base_url="http://sandbox.invalid/api/v1",
        headers={"Authorization": f"Bearer {SANDBOX_KEYS['viewer']}"},
    ) as http:
        answer = await http.get("/numbers")
        answer.raise_for_status()
        numbers = answer.json()["data"]["numbers"]
    return Raw(numbers, [_record(call) for call in sandbox.state["calls"]], sandbox.state)


# --- Tallies ---------------------------------------------------------------------------------------


def tally(values: Iterable[Any]) -> Counter[Any]:
    return Counter(values)


def rate(part: int, whole: int) -> Approx:
    return Approx(round(100 * part / whole, 1) if whole else 0.0)


def mean(values: list[int]) -> Approx:
    return Approx(round(sum(values) / len(values), 1) if values else 0.0)


def by(calls: Iterable[CallRecord], key: Callable[[CallRecord], Any]) -> dict[Any, list[CallRecord]]:
    groups: dict[Any, list[CallRecord]] = {}
    for call in calls:
        groups.setdefault(key(call), []).append(call)
    return groups


def metric(name: str, calls: list[CallRecord]) -> Any:
    """A metric of the contract's get_call_analytics / compare_periods over some calls."""
    answered = sum(c.status == "completed" for c in calls)
    qualified = sum(c.qualified for c in calls)
    values = {
        "calls": lambda: len(calls),
        "answered": lambda: answered,
        "missed": lambda: sum(c.status in MISSED for c in calls),
        "voicemail": lambda: sum(c.status == "voicemail" for c in calls),
        "qualified": lambda: qualified,
        "answer_rate": lambda: rate(answered, len(calls)),
        "qualified_rate": lambda: rate(qualified, len(calls)),
        "avg_duration_answered": lambda: mean([c.duration for c in calls if c.status == "completed"]),
    }
    return values[name]()


def compared(name: str, first: list[CallRecord], second: list[CallRecord]) -> dict[str, Any]:
    a, b = metric(name, first), metric(name, second)
    if isinstance(a, Approx):
        return {"first": a, "second": b, "change": Approx(b.value - a.value, 0.11)}
    return {"first": a, "second": b, "change": b - a}


def contains(text: str | None, term: str) -> bool:
    return term.lower() in (text or "").lower()


def text_contact(text: dict[str, Any]) -> str:
    return str(text["from_number"] if text["direction"] == "inbound" else text["to_number"])


def submissions(raw: Raw) -> list[dict[str, Any]]:
    return [s for form in raw.state["forms"] for s in form["submissions"]]


def submission_text(submission: dict[str, Any]) -> str:
    return " ".join(str(v) for v in submission["data"].values())


def failed(raw: Raw, window: when.Window | None = None) -> list[dict[str, Any]]:
    return [d for d in raw.in_window(raw.state["webhook_deliveries"], window) if not d["success"]]


def area_code(phone: str) -> str:
    return phone[2:5]  # +1NPA...


# --- Subjects: the phone numbers questions name, picked from the data ------------------------------


def pick_subjects(raw: Raw) -> dict[str, str]:
    """The phone numbers questions name."""
    callers = tally(c.caller for c in raw.calls)
    texts = tally(text_contact(t) for t in raw.state["texts"])
    voicemails = tally(v["caller_number"] for v in raw.state["voicemails"])
    # The richest timeline: texts and voicemails as well as calls (most calls; ties by number).
    timeline = min(
        (p for p in callers if texts[p] and voicemails[p]), key=lambda p: (-callers[p], p), default=""
    )
    return {
        "top_caller": top_of(callers).keys[0],
        "timeline_phone": timeline,
        "main_number": raw.number("Google Ads Orlando HVAC")["phone_number"],
        "area_router_number": raw.number("Service Area - Tampa Bay")["phone_number"],
        "spanish_number": raw.number("Spanish Line Miami")["phone_number"],
    }


# --- Call routes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    at: datetime
    keypresses: str = ""
    zip: str = ""


def route(steps: list[dict[str, Any]], caller: Caller) -> tuple[str, list[str]]:
    """(how the call ends, the numbers it rings) for a caller walking these steps."""
    for step in steps:
        kind = step["type"]
        if kind in ("greeting", "webhook"):
            continue
        if kind == "forward":
            return "forward", [step["destination"]]
        if kind in ("voicemail", "hangup"):
            return kind, []
        if kind == "schedule":
            local = caller.at.astimezone(ZoneInfo(step["timezone"]))
            day, clock = local.strftime("%a").lower(), local.strftime("%H:%M")
            open_window = next(
                (w for w in step["windows"] if day in w["days"] and w["start"] <= clock < w["end"]), None
            )
            return route(open_window["steps"] if open_window else step.get("closed_steps", []), caller)
        if kind == "ivr":
            option = step["options"].get(caller.keypresses[:1])
            pressed = Caller(caller.at, caller.keypresses[1:], caller.zip)
            return route(option["steps"] if option else step.get("invalid_steps", []), pressed)
        if kind == "zip_code":
            chosen = next((r for r in step["routes"] if caller.zip in r["match"]), None)
            return route(chosen["steps"] if chosen else step.get("default_steps", []), caller)
        raise ValueError(f"no route model for a {kind} step")
    return "hangup", []


def traced(raw: Raw, phone: str, caller: Caller) -> tuple[str, list[str]]:
    number = next(n for n in raw.numbers if n["phone_number"] == phone)
    flow = next(f for f in raw.state["call_flows"] if f["id"] == number["call_flow_id"])
    return route(flow["config_json"]["steps"], caller)


def new_york(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("America/New_York"))


# --- The answers, by question id (questions.py asks them) -------------------------------------------

ANSWERS: dict[str, Callable[[Raw], Any]] = {}


def answer(qid: str) -> Callable[[Callable[[Raw], Any]], Callable[[Raw], Any]]:
    def register(compute: Callable[[Raw], Any]) -> Callable[[Raw], Any]:
        ANSWERS[qid] = compute
        return compute

    return register


# Callers


@answer("top_caller_90d")
def _(raw: Raw) -> Any:
    return top_of(tally(c.caller for c in raw.calls_in(when.LAST_90)))


@answer("distinct_inbound_callers_30d")
def _(raw: Raw) -> Any:
    return len({c.caller for c in raw.calls_in(when.LAST_30, direction="inbound")})


@answer("top_caller_area_code_this_month")
def _(raw: Raw) -> Any:
    return top_of(tally(area_code(c.caller) for c in raw.calls_in(when.THIS_MONTH)))


@answer("timeline_counts")
def _(raw: Raw) -> Any:
    phone = raw.subjects["timeline_phone"]
    return {
        "calls": sum(c.caller == phone for c in raw.calls),
        "texts": sum(text_contact(t) == phone for t in raw.state["texts"]),
        "voicemails": sum(v["caller_number"] == phone for v in raw.state["voicemails"]),
        "form_submissions": sum(s["data"].get("phone") == phone for s in submissions(raw)),
    }


@answer("timeline_latest")
def _(raw: Raw) -> Any:
    phone = raw.subjects["timeline_phone"]
    moments = [c.created_at for c in raw.calls if c.caller == phone]
    moments += [t["created_at"] for t in raw.state["texts"] if text_contact(t) == phone]
    moments += [v["created_at"] for v in raw.state["voicemails"] if v["caller_number"] == phone]
    moments += [s["submitted_at"] for s in submissions(raw) if s["data"].get("phone") == phone]
    return max(moments)


@answer("top_caller_calls_since_october")
def _(raw: Raw) -> Any:
    return sum(1 for _ in raw.calls_in(when.SINCE_OCTOBER, caller=raw.subjects["top_caller"]))


@answer("top_caller_answered_90d")
def _(raw: Raw) -> Any:
    phone = raw.subjects["top_caller"]
    return sum(1 for _ in raw.calls_in(when.LAST_90, caller=phone, status="completed"))


@answer("voicemails_of_top_caller_90d")
def _(raw: Raw) -> Any:
    top = top_of(tally(c.caller for c in raw.calls_in(when.LAST_90)))
    return sum(v["caller_number"] == top.keys[0] for v in raw.state["voicemails"])


# Webhooks


@answer("endpoint_most_failures")
def _(raw: Raw) -> Any:
    return top_of(tally(d["url"] for d in failed(raw)))


@answer("host_most_failures_7d")
def _(raw: Raw) -> Any:
    return top_of(tally(urlsplit(d["url"]).hostname for d in failed(raw, when.LAST_7)))


@answer("failed_deliveries_7d")
def _(raw: Raw) -> Any:
    return len(failed(raw, when.LAST_7))


@answer("failure_status_code")
def _(raw: Raw) -> Any:
    return top_of(tally(str(d["status_code"] or "no response") for d in failed(raw)))


@answer("failing_event")
def _(raw: Raw) -> Any:
    return top_of(tally(d["event"] for d in failed(raw)))


@answer("endpoint_outcomes")
def _(raw: Raw) -> Any:
    return dict(tally(f"{d['url']} {str(d['success']).lower()}" for d in raw.state["webhook_deliveries"]))


# Numbers


@answer("top_area_code")
def _(raw: Raw) -> Any:
    return top_of(tally(area_code(n["phone_number"]) for n in raw.numbers))


@answer("local_area_codes")
def _(raw: Raw) -> Any:
    return len({area_code(n["phone_number"]) for n in raw.numbers if n["type"] == "local"})


@answer("numbers_in_813")
def _(raw: Raw) -> Any:
    return sum(area_code(n["phone_number"]) == "813" for n in raw.numbers)


@answer("numbers_without_calls")
def _(raw: Raw) -> Any:
    return sum(not n["total_calls"] for n in raw.numbers)


@answer("active_numbers_without_calls")
def _(raw: Raw) -> Any:
    return sum(not n["total_calls"] and n["status"] == "active" for n in raw.numbers)


@answer("largest_group")
def _(raw: Raw) -> Any:
    return top_of({g["name"]: len(g["number_ids"]) for g in raw.state["number_groups"]})


@answer("flow_most_numbers")
def _(raw: Raw) -> Any:
    return top_of(tally(n["call_flow_name"] for n in raw.numbers if n.get("call_flow_name")))


@answer("paused_numbers")
def _(raw: Raw) -> Any:
    return sum(n["status"] == "paused" for n in raw.numbers)


@answer("sms_numbers_in_305")
def _(raw: Raw) -> Any:
    return sum(n["sms_enabled"] and area_code(n["phone_number"]) == "305" for n in raw.numbers)


# Text search


@answer("saturday_texters_since_friday")
def _(raw: Raw) -> Any:
    texts = raw.in_window(raw.state["texts"], when.SINCE_FRIDAY)
    return sorted({text_contact(t) for t in texts if contains(t["body"], "saturday")})


@answer("texts_water_heater")
def _(raw: Raw) -> Any:
    return sum(contains(t["body"], "water heater") for t in raw.state["texts"])


@answer("voicemails_leak_30d")
def _(raw: Raw) -> Any:
    voicemails = raw.in_window(raw.state["voicemails"], when.LAST_30)
    return sum(contains(v["transcription"], "leak") for v in voicemails)


@answer("voicemails_burst_pipe")
def _(raw: Raw) -> Any:
    return sum(contains(v["transcription"], "burst pipe") for v in raw.state["voicemails"])


@answer("thermostat_by_kind")
def _(raw: Raw) -> Any:
    return {
        "sms": sum(contains(t["body"], "thermostat") for t in raw.state["texts"]),
        "voicemail": sum(contains(v["transcription"], "thermostat") for v in raw.state["voicemails"]),
        "form": sum(contains(submission_text(s), "thermostat") for s in submissions(raw)),
    }


@answer("forms_banging")
def _(raw: Raw) -> Any:
    return sum(contains(submission_text(s), "banging") for s in submissions(raw))


@answer("texts_stop_or_unsubscribed")
def _(raw: Raw) -> Any:
    return sum(contains(t["body"], "stop") or contains(t["body"], "unsubscribed") for t in raw.state["texts"])


# Sources and outcomes


def per_source(raw: Raw, window: when.Window, name: str, **equal: Any) -> dict[str, Any]:
    return {
        s: metric(name, calls) for s, calls in by(raw.calls_in(window, **equal), lambda c: c.source).items()
    }


@answer("answer_rate_by_source_30d")
def _(raw: Raw) -> Any:
    return per_source(raw, when.LAST_30, "answer_rate")


@answer("qualified_by_source_this_month")
def _(raw: Raw) -> Any:
    return per_source(raw, when.THIS_MONTH, "qualified")


@answer("top_qualified_source_last_month")
def _(raw: Raw) -> Any:
    return top_of(tally(c.source for c in raw.calls_in(when.LAST_MONTH, qualified=True)))


@answer("missed_by_source_7d")
def _(raw: Raw) -> Any:
    return {s: n for s, n in per_source(raw, when.LAST_7, "missed").items() if n}


@answer("best_campaign_qualified_rate_90d")
def _(raw: Raw) -> Any:
    campaigns = by(raw.calls_in(when.LAST_90), lambda c: c.campaign)
    return top_of({k: metric("qualified_rate", v).value for k, v in campaigns.items() if k and len(v) >= 100})


@answer("talk_time_google_facebook_30d")
def _(raw: Raw) -> Any:
    rates = per_source(raw, when.LAST_30, "avg_duration_answered")
    return {s: rates[s] for s in ("google", "facebook")}


@answer("voicemail_calls_7d")
def _(raw: Raw) -> Any:
    return sum(1 for _ in raw.calls_in(when.LAST_7, status="voicemail"))


@answer("qualified_calls_last_month")
def _(raw: Raw) -> Any:
    return sum(1 for _ in raw.calls_in(when.LAST_MONTH, qualified=True))


# Time


@answer("busiest_weekday_90d")
def _(raw: Raw) -> Any:
    return top_of(tally(c.weekday for c in raw.calls_in(when.LAST_90)))


@answer("busiest_hour_30d")
def _(raw: Raw) -> Any:
    return top_of(tally(c.hour for c in raw.calls_in(when.LAST_30)))


@answer("busiest_day_october")
def _(raw: Raw) -> Any:
    return top_of(tally(c.day for c in raw.calls_in(when.LAST_MONTH)))


@answer("calls_per_month")
def _(raw: Raw) -> Any:
    return dict(tally(c.month for c in raw.calls_in(when.AUGUST_TO_OCTOBER)))


@answer("week_most_missed")
def _(raw: Raw) -> Any:
    return top_of(tally(c.week for c in raw.calls_in(when.LAST_12_WEEKS) if c.status in MISSED))


@answer("busiest_saturday_hour_90d")
def _(raw: Raw) -> Any:
    return top_of(tally(c.hour for c in raw.calls_in(when.LAST_90, weekday="saturday")))


# Comparisons


@answer("calls_month_to_date_vs_last")
def _(raw: Raw) -> Any:
    return compared(
        "calls", list(raw.calls_in(when.LAST_MONTH_SAME_DAYS)), list(raw.calls_in(when.THIS_MONTH))
    )


@answer("answered_week_vs_previous")
def _(raw: Raw) -> Any:
    return compared("answered", list(raw.calls_in(when.PREVIOUS_7)), list(raw.calls_in(when.LAST_7)))


@answer("answer_rate_month_vs_last")
def _(raw: Raw) -> Any:
    return compared("answer_rate", list(raw.calls_in(when.LAST_MONTH)), list(raw.calls_in(when.THIS_MONTH)))


@answer("google_qualified_30d_vs_previous")
def _(raw: Raw) -> Any:
    first = list(raw.calls_in(when.PREVIOUS_30, source="google"))
    return compared("qualified", first, list(raw.calls_in(when.LAST_30, source="google")))


# Call routes (the flow as it stands now: trace_call_route answers for the current flow)


@answer("route_press_3_at_7pm")
def _(raw: Raw) -> Any:
    return traced(raw, raw.subjects["main_number"], Caller(new_york("2026-11-17T19:00"), "3"))


@answer("route_press_1_at_10am")
def _(raw: Raw) -> Any:
    return traced(raw, raw.subjects["main_number"], Caller(new_york("2026-11-17T10:00"), "1"))


@answer("route_saturday_11am")
def _(raw: Raw) -> Any:
    return traced(raw, raw.subjects["main_number"], Caller(new_york("2026-11-21T11:00")))


@answer("route_zip_33704")
def _(raw: Raw) -> Any:
    return traced(raw, raw.subjects["area_router_number"], Caller(new_york("2026-11-18T10:00"), zip="33704"))


@answer("route_spanish_after_hours")
def _(raw: Raw) -> Any:
    return traced(raw, raw.subjects["spanish_number"], Caller(new_york("2026-11-16T18:00"), "1"))


# Exports, recordings, dashboard and inbox


@answer("export_google_last_week")
def _(raw: Raw) -> Any:
    return sum(1 for _ in raw.calls_in(when.LAST_7, source="google"))


@answer("export_voicemails_october")
def _(raw: Raw) -> Any:
    return sum(1 for _ in raw.calls_in(when.LAST_MONTH, status="voicemail"))


@answer("latest_answered_recording_length")
def _(raw: Raw) -> Any:
    return max((c for c in raw.calls if c.status == "completed"), key=lambda c: c.created_at).duration


@answer("dashboard_7d")
def _(raw: Raw) -> Any:
    calls = list(raw.calls_in(when.LAST_7))
    return [len(calls), metric("answered", calls)]


@answer("top_number_30d")
def _(raw: Raw) -> Any:
    return top_of(tally(c.tracking_number for c in raw.calls_in(when.LAST_30)))


@answer("top_source_90d")
def _(raw: Raw) -> Any:
    return top_of(tally(c.source for c in raw.calls_in(when.LAST_90)))


@answer("unread_conversations")
def _(raw: Raw) -> Any:
    return sum(bool(c["unread"]) for c in raw.state["conversations"])


@answer("unheard_voicemails_7d")
def _(raw: Raw) -> Any:
    return sum(not v["listened"] for v in raw.in_window(raw.state["voicemails"], when.LAST_7))
