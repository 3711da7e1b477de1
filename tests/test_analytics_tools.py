"""Issue 17, analytics: definitions and today's date, compare_periods, export_calls_csv, get_call_recording and
the qualified filter, each checked against figures computed here from the sandbox's raw state (never through
cs_mcp's own code)."""

from __future__ import annotations

import base64
import csv
import io
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from mcp_types import AudioContent, EmbeddedResource, ResourceLink

from cs_mcp.sandbox import INJECTION_SAMPLES, Sandbox
from tests.conftest import Connect, call, call_error
from tests.untrusted_checks import fenced_parts

pytestmark = pytest.mark.anyio
MISSED = ("no-answer", "busy", "failed")
Call = dict[str, Any]


def calls_of(sandbox: Sandbox) -> list[Call]:
    return list(sandbox.state["calls"])


def moment(created_at: str) -> datetime:
    return datetime.fromisoformat(created_at.replace("Z", "+00:00")).astimezone(UTC)


def today(sandbox: Sandbox) -> date:
    return sandbox.now.date()


def days_ago(sandbox: Sandbox, days: int) -> str:
    return (today(sandbox) - timedelta(days=days)).isoformat()


def between(calls: list[Call], since: str, before: str) -> list[Call]:
    return [c for c in calls if since <= c["created_at"][:10] < before]


def percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def mean(values: list[int]) -> float:
    return round(sum(values) / len(values), 1) if values else 0.0


# Each metric as issue 17's definitions word it, over a list of raw calls.
METRICS: dict[str, Callable[[list[Call]], float]] = {
    "calls": len,
    "answered": lambda cs: sum(c["status"] == "completed" for c in cs),
    "missed": lambda cs: sum(c["status"] in MISSED for c in cs),
    "voicemail": lambda cs: sum(c["status"] == "voicemail" for c in cs),
    "qualified": lambda cs: sum(bool(c["qualified_ai"]) for c in cs),
    "answer_rate": lambda cs: percent(sum(c["status"] == "completed" for c in cs), len(cs)),
    "qualified_rate": lambda cs: percent(sum(bool(c["qualified_ai"]) for c in cs), len(cs)),
    "avg_duration": lambda cs: mean([c["duration_seconds"] for c in cs]),
    "avg_duration_answered": lambda cs: mean(
        [c["duration_seconds"] for c in cs if c["status"] == "completed"]
    ),
}


# --- Definitions and time -------------------------------------------------------------------------------


async def test_instructions_and_capabilities_give_the_date_zone_and_definitions(connect: Connect) -> None:
    async with connect("viewer") as client:
        instructions = client.instructions or ""
        capabilities = await call(client, "get_capabilities")
    now = datetime.now(UTC).date().isoformat()
    assert f"Today is {now}" in instructions and "UTC" in instructions
    for words in ("answered = status completed", "missed = no-answer, busy or failed", "qualified"):
        assert words in instructions, words
    assert capabilities["today"] == now and capabilities["time_zone"] == "UTC"
    assert capabilities["utc_offset"] == "+00:00"
    meanings = capabilities["definitions"]
    assert "completed" in meanings["answered"]
    assert all(status in meanings["missed"] for status in MISSED)
    assert "qualified_ai" in meanings["qualified"]
    for period in ("today", "7d", "30d", "90d", "all"):
        assert f"period {period}" in meanings
    assert "8 calendar dates" in meanings["period 7d"]
    assert "00:00 UTC" in meanings["periods in the sandbox"]


async def test_the_definitions_are_what_the_dashboard_counts(sandbox: Sandbox, connect: Connect) -> None:
    """The sandbox's periods are as get_capabilities words them: whole UTC days before today, so 'today' is
    yesterday and 7d is since=start_date, before=end_date; answered, missed and qualified as defined."""
    calls = calls_of(sandbox)
    async with connect("viewer") as client:
        day = await call(client, "get_dashboard_stats", period="today")
        week = await call(client, "get_dashboard_stats", period="7d")
    assert (day["start_date"], day["end_date"]) == (days_ago(sandbox, 1), days_ago(sandbox, 0))
    assert (week["start_date"], week["end_date"]) == (days_ago(sandbox, 7), days_ago(sandbox, 0))
    for stats in (day, week):
        window = between(calls, stats["start_date"], stats["end_date"])
        assert stats["total_calls"] == len(window) > 0
        for metric in ("answered", "missed", "qualified"):
            assert stats[metric] == METRICS[metric](window), metric


async def test_output_schemas_carry_the_same_words(connect: Connect) -> None:
    async with connect("viewer") as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    dashboard = tools["get_dashboard_stats"].output_schema["properties"]
    assert "no-answer, busy or failed" in dashboard["missed"]["description"]
    assert "8 calendar dates" in dashboard["period"]["description"]
    status = tools["list_calls"].output_schema["properties"]["items"]["items"]["properties"]["status"]
    assert "completed = answered" in status["description"]


# --- The qualified filter -------------------------------------------------------------------------------


async def test_qualified_filter_on_list_calls_and_analytics(sandbox: Sandbox, connect: Connect) -> None:
    calls = calls_of(sandbox)
    async with connect("viewer") as client:
        qualified = await call(client, "list_calls", qualified=True, limit=5)
        unqualified = await call(client, "list_calls", qualified=False, source="google", limit=5)
        counted = await call(client, "get_call_analytics", qualified=True, group_by=["status"])
    assert qualified["total"] == METRICS["qualified"](calls) > 0
    assert unqualified["total"] == sum(not c["qualified_ai"] and c["source"] == "google" for c in calls)
    assert counted["totals"]["calls"] == qualified["total"]
    by_id = {c["id"]: c for c in calls}
    assert all(by_id[item["id"]]["qualified_ai"] for item in qualified["items"])


async def test_one_weekdays_calls_by_hour_in_one_call(sandbox: Sandbox, connect: Connect) -> None:
    """ "On Saturdays, which hour is busiest?": the weekday filter keeps one weekday's calls (in the
    business's time zone, UTC here), counted from pages since the Analytics API cannot."""
    saturdays = [c for c in calls_of(sandbox) if moment(c["created_at"]).weekday() == 5]
    expected = Counter(moment(c["created_at"]).hour for c in saturdays)
    async with connect("viewer") as client:
        got = await call(client, "get_call_analytics", weekday="saturday", group_by=["hour"], limit=24)
        error = await call_error(client, "get_call_analytics", weekday="caturday")
    assert got["totals"]["calls"] == len(saturdays) > 0 and got["computed_from_calls"] is True
    assert {int(row["hour"]): row["calls"] for row in got["rows"]} == dict(expected)
    assert "keep saturdays only" in got["note"]
    assert "weekday" in error


# --- compare_periods ------------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", list(METRICS))
async def test_compare_periods_is_exact_for_every_metric(
    sandbox: Sandbox, connect: Connect, metric: str
) -> None:
    calls = [c for c in calls_of(sandbox) if c["source"] == "google"]
    first = (days_ago(sandbox, 60), days_ago(sandbox, 30))
    second = (days_ago(sandbox, 30), days_ago(sandbox, 0))
    async with connect("viewer") as client:
        compared = await call(
            client,
            "compare_periods",
            metric=metric,
            source="google",
            first_since=first[0],
            first_before=first[1],
            second_since=second[0],
            second_before=second[1],
        )
    expected_first = METRICS[metric](between(calls, *first))
    expected_second = METRICS[metric](between(calls, *second))
    change = round(expected_second - expected_first, 1)
    assert compared["metric"] == metric and compared["meaning"]
    assert (compared["first"], compared["second"]) == (expected_first, expected_second)
    assert compared["change"] == change
    assert compared.get("change_pct") == (round(100 * change / expected_first, 1) if expected_first else None)


async def test_compare_periods_with_the_qualified_filter_and_an_empty_period(
    sandbox: Sandbox, connect: Connect
) -> None:
    calls = calls_of(sandbox)
    recent = (days_ago(sandbox, 7), days_ago(sandbox, 0))
    async with connect("viewer") as client:
        unqualified = await call(
            client,
            "compare_periods",
            metric="qualified_rate",
            qualified=False,
            first_since="2000-01-01",
            first_before="2000-02-01",
            second_since=recent[0],
            second_before=recent[1],
        )
        qualified = await call(
            client,
            "compare_periods",
            metric="qualified",
            qualified=True,
            min_duration=60,  # a list_calls filter the schema leaves out, still applied
            first_since=recent[0],
            first_before=recent[1],
            second_since=recent[0],
            second_before=recent[1],
        )
    assert unqualified["first"] == 0 and unqualified["second"] == 0.0
    assert unqualified.get("change_pct") is None  # no change in percent from nothing (results omit nulls)
    long_ones = [c for c in between(calls, *recent) if c["qualified_ai"] and c["duration_seconds"] >= 60]
    assert qualified["first"] == qualified["second"] == len(long_ones) > 0
    assert qualified["change"] == 0 and qualified["change_pct"] == 0


async def test_compare_periods_refuses_an_empty_or_reversed_range(sandbox: Sandbox, connect: Connect) -> None:
    sent = len(sandbox.requests)
    async with connect("viewer") as client:
        error = await call_error(
            client,
            "compare_periods",
            metric="calls",
            first_since="2026-02-01",
            first_before="2026-02-01",
            second_since="2026-03-01",
            second_before="2026-04-01",
        )
        unknown = await call_error(
            client,
            "compare_periods",
            metric="revenue",
            first_since="2026-02-01",
            first_before="2026-03-01",
            second_since="2026-03-01",
            second_before="2026-04-01",
        )
    assert "first_before must be after first_since" in error
    assert "metric" in unknown
    assert len(sandbox.requests) == sent


# --- export_calls_csv -----------------------------------------------------------------------------------


def csv_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_export_links_the_whole_file_with_a_summary_and_the_first_rows(
    sandbox: Sandbox, connect: Connect
) -> None:
    calls = [c for c in calls_of(sandbox) if c["direction"] == "inbound"]
    window = (days_ago(sandbox, 30), days_ago(sandbox, 0))
    expected = between(calls, *window)
    async with connect("viewer") as client:
        result = await client.call_tool(
            "export_calls_csv", {"direction": "inbound", "since": window[0], "before": window[1]}
        )
        assert not result.is_error, result.content[0].text
        (link,) = [c for c in result.content if isinstance(c, ResourceLink)]
        file = (await client.read_resource(link.uri)).contents[0].text
    assert not any(isinstance(c, EmbeddedResource) for c in result.content), (
        "the file is linked, not embedded"
    )
    rows = csv_of(file)
    assert [r["id"] for r in rows] == [c["id"] for c in expected]  # every match, newest first
    export = result.structured_content
    assert export["rows"] == len(expected) and export["resource_uri"] == link.uri
    assert "qualified_ai" in export["columns"] and "recording_url" in export["columns"]
    summary = export["summary"]
    for metric in ("answered", "missed", "voicemail", "qualified"):
        assert summary[metric] == METRICS[metric](expected), metric
    assert summary["by_direction"] == {"inbound": len(expected)}
    shown = export["first_rows"]
    assert 0 < len(shown) < len(expected)  # the budget keeps the inline rows short
    assert [r["id"] for r in shown] == [c["id"] for c in expected[: len(shown)]]
    assert f"first {len(shown)} of {len(expected)} rows" in result.content[0].text


async def test_export_of_a_few_calls_shows_them_all(sandbox: Sandbox, connect: Connect) -> None:
    calls = calls_of(sandbox)
    day = (days_ago(sandbox, 1), days_ago(sandbox, 0))
    expected = [c for c in between(calls, *day) if c["status"] == "voicemail"]
    async with connect("viewer", max_output_tokens=20_000) as client:
        export = await call(client, "export_calls_csv", status="voicemail", since=day[0], before=day[1])
    assert export["rows"] == len(expected) == len(export["first_rows"]) > 0
    assert {r["id"] for r in export["first_rows"]} == {c["id"] for c in expected}


async def test_export_fences_callers_text_in_the_rows_it_shows(sandbox: Sandbox, connect: Connect) -> None:
    planted = next(s for s in INJECTION_SAMPLES if s.resource == "call" and s.field == "caller_name")
    target = next(c for c in calls_of(sandbox) if c["id"] == planted.id)
    day = target["created_at"][:10]
    after = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    async with connect("viewer", max_output_tokens=20_000) as client:
        result = await client.call_tool(
            "export_calls_csv", {"search": target["caller_number"], "since": day, "before": after}
        )
    assert not result.is_error, result.content[0].text
    text = result.content[0].text
    row = next(r for r in result.structured_content["first_rows"] if r["id"] == planted.id)
    assert row["caller_name"]
    assert any(row["caller_name"] in part or part in row["caller_name"] for part in fenced_parts(text))


async def test_export_too_large_says_how_to_split_it(
    sandbox: Sandbox, connect: Connect, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cs_mcp.sandbox.resources import calls as sandbox_calls

    monkeypatch.setattr(sandbox_calls, "MAX_EXPORT_ROWS", 100)
    async with connect("viewer") as client:
        error = await call_error(client, "export_calls_csv")
    assert "at most 100" in error and "since/before" in error


async def test_export_takes_the_unpublished_range_filters(sandbox: Sandbox, connect: Connect) -> None:
    async with connect("viewer") as client:
        schema = {tool.name: tool for tool in (await client.list_tools()).tools}[
            "export_calls_csv"
        ].input_schema
        export = await call(client, "export_calls_csv", min_duration=600, min_ai_score=90)
    assert "min_duration" not in schema["properties"] and "qualified" in schema["properties"]
    expected = [c for c in calls_of(sandbox) if c["duration_seconds"] >= 600 and (c["ai_score"] or 0) >= 90]
    assert export["rows"] == len(expected) > 0


# --- get_call_recording ---------------------------------------------------------------------------------


def recorded(sandbox: Sandbox) -> list[Call]:
    return [c for c in calls_of(sandbox) if c["has_recording"]]


async def test_a_short_recording_is_attached(sandbox: Sandbox, connect: Connect) -> None:
    shortest = min(recorded(sandbox), key=lambda c: c["duration_seconds"])
    async with connect("viewer", max_output_tokens=20_000) as client:
        result = await client.call_tool("get_call_recording", {"call_id": shortest["id"]})
    assert not result.is_error, result.content[0].text
    (audio,) = [c for c in result.content if isinstance(c, AudioContent)]
    raw = base64.b64decode(audio.data)
    info = result.structured_content
    assert info["delivery"] == "inline" and info["bytes"] == len(raw) > 0
    assert info["call_id"] == shortest["id"] and info["duration_seconds"] == shortest["duration_seconds"]
    assert audio.mime_type == info["media_type"] == "audio/mpeg"


async def test_a_long_recording_is_linked_and_the_link_reads_the_audio(
    sandbox: Sandbox, connect: Connect
) -> None:
    longest = max(recorded(sandbox), key=lambda c: c["duration_seconds"])
    async with connect("viewer") as client:
        result = await client.call_tool("get_call_recording", {"call_id": longest["id"]})
        assert not result.is_error, result.content[0].text
        (link,) = [c for c in result.content if isinstance(c, ResourceLink)]
        contents = (await client.read_resource(link.uri)).contents[0]
        with pytest.raises(Exception, match="not a call id"):
            await client.read_resource("callscaler://calls/nope/recording")
    info = result.structured_content
    assert info["delivery"] == "link" and "budget" in info["note"]
    assert link.uri == info["uri"] == f"callscaler://calls/{longest['id']}/recording"
    assert len(base64.b64decode(contents.blob)) == info["bytes"]


async def test_the_recording_link_cannot_get_around_a_hidden_tool(sandbox: Sandbox, connect: Connect) -> None:
    """A client limited to other toolsets must not reach call audio by reading the resource directly."""
    call_id = recorded(sandbox)[0]["id"]
    sent = len(sandbox.requests)
    async with connect("viewer", toolsets=frozenset({"voicemails"})) as client:
        with pytest.raises(Exception, match="toolset calls is not enabled"):
            await client.read_resource(f"callscaler://calls/{call_id}/recording")
    assert len(sandbox.requests) == sent


async def test_a_call_without_a_recording_says_why(sandbox: Sandbox, connect: Connect) -> None:
    missed = next(c for c in calls_of(sandbox) if c["status"] == "no-answer")
    async with connect("viewer") as client:
        error = await call_error(client, "get_call_recording", call_id=missed["id"])
    assert "has no recording" in error and "no-answer" in error
