"""The benchmark's questions, each with the plan a capable assistant would follow: one or two cs_mcp
tool calls, named as the contract between issue 17's engineers names tools and arguments (group_by and
top on every list, get_call_analytics' dimensions and metrics, compare_periods, export_calls_csv,
get_call_recording, search_text, get_caller_timeline, trace_call_route), and an extractor that reads
the answer from the results' structured content.

Arguments are written as the assistant would send them, dates included: it knows today's date (the
benchmark's `now`). A string argument may name a subject ("{top_caller}"), a phone number the question
names, picked from the data by answers.py; a step whose arguments need an earlier result takes a
function of the results so far.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.questions import when
from benchmarks.questions.expect import pairs_top
from cs_mcp.dimensions import NO_VALUE

Results = Sequence[Mapping[str, Any]]  # structured content of each call so far, in order
Arguments = Mapping[str, Any] | Callable[[Results], Mapping[str, Any]]


@dataclass(frozen=True)
class Step:
    tool: str
    arguments: Arguments


@dataclass(frozen=True)
class Question:
    id: str
    kind: str
    text: str  # may name subjects: "{top_caller}"
    steps: tuple[Step, ...]
    extract: Callable[[Results], Any]


def window(span: when.Window, since: str = "since", before: str = "before") -> dict[str, str]:
    return {since: span[0], before: span[1]}


def periods(metric: str, first: when.Window, second: when.Window, **filters: str) -> dict[str, str]:
    """compare_periods' arguments: a metric over two windows, with list_calls' filters."""
    return {
        "metric": metric,
        **window(first, "first_since", "first_before"),
        **window(second, "second_since", "second_before"),
        **filters,
    }


# --- Reading results --------------------------------------------------------------------------------


def last(results: Results) -> Mapping[str, Any]:
    return results[-1]


def calls_of(row: Mapping[str, Any]) -> Any:
    """An analytics row's call count: the contract's metric `calls` (today's API name is `count`)."""
    return row["calls"] if "calls" in row else row["count"]


def first_group(dim: str) -> Callable[[Results], Any]:
    """(key, count) of the biggest group of a list's group_by."""

    def read(results: Results) -> Any:
        group = last(results)["groups"][0]
        return group["key"][dim], group["count"]

    return read


def first_named_group(dim: str) -> Callable[[Results], Any]:
    """(key, count) of the biggest group whose key is not empty (numbers without a flow or group)."""

    def read(results: Results) -> Any:
        group = next(g for g in last(results)["groups"] if g["key"][dim] not in (None, NO_VALUE))
        return group["key"][dim], group["count"]

    return read


def groups_total(results: Results) -> Any:
    return last(results)["groups_total"]


def total(results: Results) -> Any:
    return last(results)["total"]


def rows(dim: str, metric: str | None = None) -> Callable[[Results], Any]:
    """{dimension value: metric} over an analytics answer's rows (metric None: the call count)."""

    def read(results: Results) -> Any:
        return {r[dim]: calls_of(r) if metric is None else r[metric] for r in last(results)["rows"]}

    return read


def top_row(
    dim: str, metric: str | None = None, where: Callable[[Any], bool] = bool
) -> Callable[[Results], Any]:
    """(key, value) of the analytics row with the largest metric (None: the call count)."""

    def read(results: Results) -> Any:
        return pairs_top((k, v) for k, v in rows(dim, metric)(results).items() if where(k))

    return read


def field(*path: str | int) -> Callable[[Results], Any]:
    def read(results: Results) -> Any:
        value: Any = last(results)
        for key in path:
            value = value[key]
        return value

    return read


def weekday(value: Any) -> str:
    """A weekday however a tool spells it ("Sat", "saturday", "Saturday") as its lowercase full name."""
    names = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    return next(name for name in names if name[:3] == str(value).lower()[:3])


def area_code(value: Any) -> str:
    """An area code however a tool spells it ("813", 813, "+1813") as its three digits."""
    return "".join(ch for ch in str(value) if ch.isdigit())[-3:]


def hour(value: Any) -> int:
    return int(str(value).split(":")[0])


def compared(results: Results) -> Any:
    answer = last(results)
    return {"first": answer["first"], "second": answer["second"], "change": answer["change"]}


def route(results: Results) -> Any:
    answer = last(results)
    return answer["ends"], list(answer["rings"])


def contacts(results: Results) -> Any:
    """Who matched a search, refusing a list cut short (then the answer is not all there)."""
    counts = last(results)["by_contact"]
    if "(other)" in counts:
        raise ValueError(f"{counts['(distinct)']} contacts, {len(counts) - 2} shown")
    return sorted(counts)


def with_key(read: Callable[[Results], Any], convert: Callable[[Any], Any]) -> Callable[[Results], Any]:
    def converted(results: Results) -> Any:
        key, count = read(results)
        return convert(key), count

    return converted


# --- The questions ------------------------------------------------------------------------------------


def ask(
    qid: str, kind: str, text: str, *steps: tuple[str, Arguments], extract: Callable[[Results], Any]
) -> Question:
    return Question(qid, kind, text, tuple(Step(tool, arguments) for tool, arguments in steps), extract)


QUESTIONS: tuple[Question, ...] = (
    # Callers
    ask(
        "top_caller_90d",
        "callers",
        "Which caller called us most in the last 90 days?",
        ("list_calls", {**window(when.LAST_90), "group_by": ["caller_number"], "top": 1, "limit": 1}),
        extract=first_group("caller_number"),
    ),
    ask(
        "distinct_inbound_callers_30d",
        "callers",
        "How many different people called us in the last 30 days?",
        (
            "list_calls",
            {
                **window(when.LAST_30),
                "direction": "inbound",
                "group_by": ["caller_number"],
                "top": 1,
                "limit": 1,
            },
        ),
        extract=groups_total,
    ),
    ask(
        "top_caller_area_code_this_month",
        "callers",
        "Which area code do most of this month's callers call from?",
        (
            "get_call_analytics",
            {**window(when.THIS_MONTH), "group_by": ["caller_area_code"], "metrics": ["calls"], "limit": 1},
        ),
        extract=with_key(top_row("caller_area_code", "calls"), area_code),
    ),
    ask(
        "timeline_counts",
        "callers",
        "How many calls, texts, voicemails and form submissions have we had from {timeline_phone}?",
        ("get_caller_timeline", {"phone": "{timeline_phone}", "limit": 1}),
        extract=field("counts"),
    ),
    ask(
        "timeline_latest",
        "callers",
        "When was {timeline_phone} last in touch with us, by any channel?",
        ("get_caller_timeline", {"phone": "{timeline_phone}", "limit": 1}),
        extract=field("events", 0, "at"),
    ),
    ask(
        "top_caller_calls_since_october",
        "callers",
        "How many times has {top_caller} called since 1 October?",
        ("list_calls", {**window(when.SINCE_OCTOBER), "search": "{top_caller}", "limit": 1}),
        extract=total,
    ),
    ask(
        "top_caller_answered_90d",
        "callers",
        "How many of {top_caller}'s calls in the last 90 days did we answer?",
        ("list_calls", {**window(when.LAST_90), "search": "{top_caller}", "status": "completed", "limit": 1}),
        extract=total,
    ),
    ask(
        "voicemails_of_top_caller_90d",
        "callers",
        "The caller who called most in the last 90 days: how many voicemails have they ever left us?",
        ("list_calls", {**window(when.LAST_90), "group_by": ["caller_number"], "top": 1, "limit": 1}),
        (
            "list_voicemails",
            lambda results: {"caller": results[0]["groups"][0]["key"]["caller_number"], "limit": 1},
        ),
        extract=total,
    ),
    # Webhooks
    ask(
        "endpoint_most_failures",
        "webhooks",
        "Which webhook endpoint has the most failed deliveries?",
        ("list_webhook_deliveries", {"outcome": "failed", "group_by": ["url"], "top": 1, "limit": 1}),
        extract=first_group("url"),
    ),
    ask(
        "host_most_failures_7d",
        "webhooks",
        "Which webhook host failed most in the last 7 days?",
        (
            "list_webhook_deliveries",
            {**window(when.LAST_7), "outcome": "failed", "group_by": ["url_host"], "top": 1, "limit": 1},
        ),
        extract=first_group("url_host"),
    ),
    ask(
        "failed_deliveries_7d",
        "webhooks",
        "How many webhook deliveries failed in the last 7 days?",
        ("list_webhook_deliveries", {**window(when.LAST_7), "outcome": "failed", "limit": 1}),
        extract=total,
    ),
    ask(
        "failure_status_code",
        "webhooks",
        "Which HTTP status is behind most failed webhook deliveries?",
        ("list_webhook_deliveries", {"outcome": "failed", "limit": 1}),
        extract=lambda results: pairs_top(last(results)["summary"]["failed_by_status_code"].items()),
    ),
    ask(
        "failing_event",
        "webhooks",
        "Which webhook event fails most often?",
        ("list_webhook_deliveries", {"outcome": "failed", "limit": 1}),
        extract=lambda results: pairs_top(last(results)["summary"]["by_event"].items()),
    ),
    ask(
        "endpoint_outcomes",
        "webhooks",
        "For each webhook endpoint, how many deliveries succeeded and how many failed?",
        ("list_webhook_deliveries", {"group_by": ["url", "success"], "top": 50, "limit": 1}),
        extract=lambda results: {
            f"{g['key']['url']} {str(g['key']['success']).lower()}": g["count"]
            for g in last(results)["groups"]
        },
    ),
    # Numbers
    ask(
        "top_area_code",
        "numbers",
        "Which area code holds most of our numbers?",
        ("list_numbers", {"group_by": ["area_code"], "top": 1, "limit": 1}),
        extract=with_key(first_group("area_code"), area_code),
    ),
    ask(
        "local_area_codes",
        "numbers",
        "How many different area codes do our local numbers cover?",
        ("list_numbers", {"type": "local", "group_by": ["area_code"], "top": 1, "limit": 1}),
        extract=groups_total,
    ),
    ask(
        "numbers_in_813",
        "numbers",
        "How many numbers do we have in area code 813?",
        ("list_numbers", {"contains": "+1813", "limit": 1}),
        extract=total,
    ),
    ask(
        "numbers_without_calls",
        "numbers",
        "How many of our numbers have never had a call?",
        ("list_numbers", {"has_calls": False, "limit": 1}),
        extract=total,
    ),
    ask(
        "active_numbers_without_calls",
        "numbers",
        "How many active numbers have never had a call?",
        ("list_numbers", {"has_calls": False, "status": "active", "limit": 1}),
        extract=total,
    ),
    ask(
        "largest_group",
        "numbers",
        "Which number group holds the most numbers?",
        ("list_number_groups", {"sort": "-number_count", "limit": 1}),
        extract=lambda results: (
            last(results)["items"][0]["name"],
            last(results)["items"][0]["number_count"],
        ),
    ),
    ask(
        "flow_most_numbers",
        "numbers",
        "Which call flow are the most numbers routed to?",
        ("list_numbers", {"group_by": ["call_flow_name"], "top": 2, "limit": 1}),
        extract=first_named_group("call_flow_name"),
    ),
    ask(
        "paused_numbers",
        "numbers",
        "How many of our numbers are paused?",
        ("get_numbers_bulk_stats", {}),
        extract=field("paused"),
    ),
    ask(
        "sms_numbers_in_305",
        "numbers",
        "How many of our 305 numbers can send texts?",
        ("list_numbers", {"contains": "+1305", "sms_enabled": True, "limit": 1}),
        extract=total,
    ),
    # Text search
    ask(
        "saturday_texters_since_friday",
        "search",
        "Who has asked by text since Friday (13 November) whether someone can come on Saturday?",
        ("search_text", {"query": "saturday", "kinds": ["sms"], **window(when.SINCE_FRIDAY), "limit": 1}),
        extract=contacts,
    ),
    ask(
        "texts_water_heater",
        "search",
        "How many text messages mention a water heater?",
        ("search_text", {"query": "water heater", "match": "phrase", "kinds": ["sms"], "limit": 1}),
        extract=total,
    ),
    ask(
        "voicemails_leak_30d",
        "search",
        "How many voicemails in the last 30 days mention a leak?",
        ("list_voicemails", {**window(when.LAST_30), "text": "leak", "limit": 1}),
        extract=total,
    ),
    ask(
        "voicemails_burst_pipe",
        "search",
        "How many voicemails mention a burst pipe?",
        ("search_text", {"query": "burst pipe", "match": "phrase", "kinds": ["voicemail"], "limit": 1}),
        extract=total,
    ),
    ask(
        "thermostat_by_kind",
        "search",
        "Where do customers mention a thermostat: how many texts, voicemails and form submissions?",
        ("search_text", {"query": "thermostat", "kinds": ["sms", "voicemail", "form"], "limit": 1}),
        extract=lambda results: {k: last(results)["by_kind"].get(k, 0) for k in ("sms", "voicemail", "form")},
    ),
    ask(
        "forms_banging",
        "search",
        "How many form submissions describe a banging noise?",
        ("search_text", {"query": "banging", "kinds": ["form"], "limit": 1}),
        extract=total,
    ),
    ask(
        "texts_stop_or_unsubscribed",
        "search",
        "How many texts mention STOP or being unsubscribed?",
        ("search_text", {"query": "stop unsubscribed", "match": "any", "kinds": ["sms"], "limit": 1}),
        extract=total,
    ),
    # Sources and outcomes
    ask(
        "answer_rate_by_source_30d",
        "sources",
        "What was our answer rate by source over the last 30 days?",
        ("get_call_analytics", {**window(when.LAST_30), "group_by": ["source"], "metrics": ["answer_rate"]}),
        extract=rows("source", "answer_rate"),
    ),
    ask(
        "qualified_by_source_this_month",
        "sources",
        "How many qualified calls did each source bring this month?",
        ("get_call_analytics", {**window(when.THIS_MONTH), "group_by": ["source"], "metrics": ["qualified"]}),
        extract=rows("source", "qualified"),
    ),
    ask(
        "top_qualified_source_last_month",
        "sources",
        "Which source brought the most qualified calls last month?",
        (
            "list_calls",
            {**window(when.LAST_MONTH), "qualified": True, "group_by": ["source"], "top": 1, "limit": 1},
        ),
        extract=first_group("source"),
    ),
    ask(
        "missed_by_source_7d",
        "sources",
        "How many calls did we miss from each source in the last 7 days?",
        ("get_call_analytics", {**window(when.LAST_7), "group_by": ["source"], "metrics": ["missed"]}),
        extract=lambda results: {k: v for k, v in rows("source", "missed")(results).items() if v},
    ),
    ask(
        "best_campaign_qualified_rate_90d",
        "sources",
        "Of the campaigns with at least 100 calls in the last 90 days, which has the best qualified rate?",
        (
            "get_call_analytics",
            {
                **window(when.LAST_90),
                "group_by": ["campaign"],
                "metrics": ["calls", "qualified_rate"],
                "limit": 200,
            },
        ),
        extract=lambda results: pairs_top(
            (r["campaign"], r["qualified_rate"])
            for r in last(results)["rows"]
            if r["campaign"] and r["calls"] >= 100
        ),
    ),
    ask(
        "talk_time_google_facebook_30d",
        "sources",
        "Over the last 30 days, how long did answered calls from google and from facebook last on average?",
        (
            "get_call_analytics",
            {**window(when.LAST_30), "group_by": ["source"], "metrics": ["avg_duration_answered"]},
        ),
        extract=lambda results: {
            s: v
            for s, v in rows("source", "avg_duration_answered")(results).items()
            if s in ("google", "facebook")
        },
    ),
    ask(
        "voicemail_calls_7d",
        "sources",
        "How many calls went to voicemail in the last 7 days?",
        ("list_calls", {**window(when.LAST_7), "status": "voicemail", "limit": 1}),
        extract=total,
    ),
    ask(
        "qualified_calls_last_month",
        "sources",
        "How many qualified calls did we get last month?",
        ("list_calls", {**window(when.LAST_MONTH), "qualified": True, "limit": 1}),
        extract=total,
    ),
    # Time
    ask(
        "busiest_weekday_90d",
        "time",
        "Which weekday is busiest, over the last 90 days?",
        ("get_call_analytics", {**window(when.LAST_90), "group_by": ["weekday"], "metrics": ["calls"]}),
        extract=with_key(top_row("weekday", "calls"), weekday),
    ),
    ask(
        "busiest_hour_30d",
        "time",
        "At which hour of the day do most calls come in (last 30 days)?",
        ("get_call_analytics", {**window(when.LAST_30), "group_by": ["hour"], "metrics": ["calls"]}),
        extract=with_key(top_row("hour", "calls", where=lambda k: k is not None), hour),
    ),
    ask(
        "busiest_day_october",
        "time",
        "Which day in October had the most calls?",
        ("get_call_analytics", {**window(when.LAST_MONTH), "group_by": ["day"], "metrics": ["calls"]}),
        extract=top_row("day", "calls"),
    ),
    ask(
        "calls_per_month",
        "time",
        "How many calls did we get in each of August, September and October?",
        ("get_call_analytics", {**window(when.AUGUST_TO_OCTOBER), "group_by": ["month"]}),
        extract=rows("month"),
    ),
    ask(
        "week_most_missed",
        "time",
        "Which of the last 12 weeks had the most missed calls?",
        ("get_call_analytics", {**window(when.LAST_12_WEEKS), "group_by": ["week"], "metrics": ["missed"]}),
        extract=top_row("week", "missed"),
    ),
    ask(
        "busiest_saturday_hour_90d",
        "time",
        "On Saturdays, which hour is busiest (last 90 days)?",
        (
            "get_call_analytics",
            {**window(when.LAST_90), "weekday": "saturday", "group_by": ["hour"], "limit": 24},
        ),
        extract=lambda results: pairs_top((hour(r["hour"]), r["calls"]) for r in last(results)["rows"]),
    ),
    # Comparisons
    ask(
        "calls_month_to_date_vs_last",
        "compare",
        "How do this month's calls so far compare with the same days of last month?",
        ("compare_periods", periods("calls", when.LAST_MONTH_SAME_DAYS, when.THIS_MONTH)),
        extract=compared,
    ),
    ask(
        "answered_week_vs_previous",
        "compare",
        "Did we answer more calls in the last 7 days than in the 7 days before?",
        ("compare_periods", periods("answered", when.PREVIOUS_7, when.LAST_7)),
        extract=compared,
    ),
    ask(
        "answer_rate_month_vs_last",
        "compare",
        "How does this month's answer rate compare with last month's?",
        ("compare_periods", periods("answer_rate", when.LAST_MONTH, when.THIS_MONTH)),
        extract=compared,
    ),
    ask(
        "google_qualified_30d_vs_previous",
        "compare",
        "Qualified calls from google: last 30 days against the 30 days before?",
        ("compare_periods", periods("qualified", when.PREVIOUS_30, when.LAST_30, source="google")),
        extract=compared,
    ),
    # Call routes
    ask(
        "route_press_3_at_7pm",
        "routes",
        "Someone calls {main_number} at 7 pm (New York) on Tuesday 17 November and presses 3: where do they end up?",
        (
            "trace_call_route",
            {"number": "{main_number}", "at": "2026-11-17T19:00:00-05:00", "keypresses": "3"},
        ),
        extract=route,
    ),
    ask(
        "route_press_1_at_10am",
        "routes",
        "Someone calls {main_number} at 10 am (New York) on Tuesday 17 November and presses 1: which phone rings?",
        (
            "trace_call_route",
            {"number": "{main_number}", "at": "2026-11-17T10:00:00-05:00", "keypresses": "1"},
        ),
        extract=route,
    ),
    ask(
        "route_saturday_11am",
        "routes",
        "Where does a call to {main_number} at 11 am (New York) on Saturday 21 November go?",
        ("trace_call_route", {"number": "{main_number}", "at": "2026-11-21T11:00:00-05:00"}),
        extract=route,
    ),
    ask(
        "route_zip_33704",
        "routes",
        "A caller from ZIP 33704 calls {area_router_number} on Wednesday 18 November at 10 am (New York): who answers?",
        (
            "trace_call_route",
            {"number": "{area_router_number}", "at": "2026-11-18T10:00:00-05:00", "zip": "33704"},
        ),
        extract=route,
    ),
    ask(
        "route_spanish_after_hours",
        "routes",
        "Someone calls {spanish_number} at 6 pm (New York) on Monday 16 November and presses 1 for Spanish: what happens?",
        (
            "trace_call_route",
            {"number": "{spanish_number}", "at": "2026-11-16T18:00:00-05:00", "keypresses": "1"},
        ),
        extract=route,
    ),
    # Exports, recordings, dashboard and inbox
    ask(
        "export_google_last_week",
        "export",
        "Export last week's google calls as CSV: how many rows?",
        ("export_calls_csv", {**window(when.LAST_7), "source": "google"}),
        extract=field("rows"),
    ),
    ask(
        "export_voicemails_october",
        "export",
        "Export October's voicemail calls as CSV: how many rows?",
        ("export_calls_csv", {**window(when.LAST_MONTH), "status": "voicemail"}),
        extract=field("rows"),
    ),
    ask(
        "latest_answered_recording_length",
        "recordings",
        "How long is the recording of our most recent answered call?",
        ("list_calls", {"status": "completed", "limit": 1}),
        ("get_call_recording", lambda results: {"call_id": results[0]["items"][0]["id"]}),
        extract=field("duration_seconds"),
    ),
    ask(
        "dashboard_7d",
        "dashboard",
        "How many calls did we get in the last 7 days, and how many did we answer?",
        ("get_dashboard_stats", {"period": "7d"}),
        extract=lambda results: [last(results)["total_calls"], last(results)["answered"]],
    ),
    ask(
        "top_number_30d",
        "dashboard",
        "Which tracking number got the most calls in the last 30 days?",
        ("get_dashboard_stats", {"period": "30d"}),
        extract=lambda results: (
            last(results)["top_numbers"][0]["phone_number"],
            last(results)["top_numbers"][0]["calls"],
        ),
    ),
    ask(
        "top_source_90d",
        "dashboard",
        "Which source brought the most calls in the last 90 days?",
        ("get_dashboard_stats", {"period": "90d"}),
        extract=lambda results: (
            last(results)["top_sources"][0]["source"],
            last(results)["top_sources"][0]["calls"],
        ),
    ),
    ask(
        "unread_conversations",
        "inbox",
        "How many text conversations are unread?",
        ("list_conversations", {"unread": True, "limit": 1}),
        extract=total,
    ),
    ask(
        "unheard_voicemails_7d",
        "inbox",
        "How many of the last 7 days' voicemails has nobody listened to?",
        ("list_voicemails", {**window(when.LAST_7), "listened": False, "limit": 1}),
        extract=total,
    ),
)
