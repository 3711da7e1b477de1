"""Calls, analytics and the dashboard, each checked against counts made here from `sandbox.state`."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pytest

from cs_mcp.sandbox import Sandbox
from cs_mcp.sandbox.seed_data import AREAS

from .conftest import BASE_URL, Api

pytestmark = pytest.mark.anyio
UNKNOWN = "00000000-0000-4000-8000-000000000000"
MISSED = ("no-answer", "busy", "failed")


def calls_of(sb: Sandbox) -> list[dict[str, Any]]:
    return list(sb.state["calls"])


async def test_default_page_is_the_newest_fifty(reader: Api, seeded: Sandbox) -> None:
    data = await reader.data("GET", "/calls", role="viewer")
    calls = calls_of(seeded)
    assert data["total"] == len(calls) and data["has_more"] and data["next_cursor"]
    assert [c["id"] for c in data["calls"]] == [c["id"] for c in calls[:50]]
    first = data["calls"][0]
    assert first["recording_url"] in (None, f"http://sandbox.invalid/api/v1/calls/{first['id']}/recording")


def _filters(sb: Sandbox) -> list[tuple[dict[str, Any], Any]]:
    """Query parameters and the same filter written independently over call dicts."""
    group = sb.state["number_groups"][1]
    number = max(sb.state["numbers"], key=lambda n: n["total_calls"])
    flow = sb.state["call_flows"][0]
    return [
        ({"start_date": "2026-01-01", "end_date": "2026-02-01"},
         lambda c: "2026-01-01" <= c["created_at"] < "2026-02-01"),
        ({"updated_since": "2026-02-20T12:00:00Z"}, lambda c: c["updated_at"] >= "2026-02-20T12:00:00Z"),
        ({"status": "voicemail"}, lambda c: c["status"] == "voicemail"),
        ({"direction": "outbound"}, lambda c: c["direction"] == "outbound"),
        ({"source": "facebook"}, lambda c: c["source"] == "facebook"),
        ({"number_id": number["id"]}, lambda c: c["number_id"] == number["id"]),
        ({"call_flow_id": flow["id"]}, lambda c: c["call_flow_id"] == flow["id"]),
        ({"number_group_id": group["id"]}, lambda c: c["number_id"] in group["number_ids"]),
        ({"min_duration": 300, "max_duration": 600}, lambda c: 300 <= c["duration_seconds"] <= 600),
        ({"min_ai_score": 90}, lambda c: c["ai_score"] is not None and c["ai_score"] >= 90),
        ({"max_ai_score": 5}, lambda c: c["ai_score"] is not None and c["ai_score"] <= 5),
        ({"search": "garcia"}, lambda c: "garcia" in (c["caller_name"] or "").lower()),
        (
            {"status": "completed", "source": "google", "min_ai_score": 60, "start_date": "2026-02-01"},
            lambda c: c["status"] == "completed" and c["source"] == "google" and (c["ai_score"] or 0) >= 60
            and c["created_at"] >= "2026-02-01",
        ),
        ({"qualified": "true"}, lambda c: c["qualified_ai"]),
        ({"qualified": "FALSE", "status": "completed"},
         lambda c: not c["qualified_ai"] and c["status"] == "completed"),
        ({"status": "missed"}, lambda c: c["status"] in MISSED),
        ({"status": "answered", "date_from": "2026-02-01"},
         lambda c: c["status"] == "completed" and c["created_at"] >= "2026-02-01"),
    ]  # fmt: skip


@pytest.mark.parametrize("case", range(17))
async def test_each_filter_matches_an_independent_count(reader: Api, seeded: Sandbox, case: int) -> None:
    params, keep = _filters(seeded)[case]
    expected = [c["id"] for c in calls_of(seeded) if keep(c)]
    assert expected, "a filter that matches nothing proves little"
    data = await reader.data("GET", "/calls", params={**params, "limit": 500})
    assert data["total"] == len(expected)
    assert [c["id"] for c in data["calls"]] == expected[:500]


async def test_search_matches_phone_digits_and_flow_names(reader: Api, seeded: Sandbox) -> None:
    call = calls_of(seeded)[10]
    digits = call["caller_number"][-7:]
    data = await reader.data("GET", "/calls", params={"search": f"{digits[:3]}-{digits[3:]}", "limit": 500})
    assert call["id"] in {c["id"] for c in data["calls"]}
    by_flow = await reader.data("GET", "/calls", params={"search": "service area", "limit": 1})
    assert by_flow["total"] == sum(
        (c["call_flow_name"] or "").startswith("Service Area") for c in calls_of(seeded)
    )


async def test_cursor_walks_every_call_once_and_wins_over_offset(reader: Api, seeded: Sandbox) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 500}
    while True:
        data = await reader.data("GET", "/calls", params=params)
        seen += [c["id"] for c in data["calls"]]
        if not data["has_more"]:
            assert data["next_cursor"] is None
            break
        params = {"limit": 500, "cursor": data["next_cursor"], "offset": 0}
    assert seen == [c["id"] for c in calls_of(seeded)]
    by_offset = await reader.data("GET", "/calls", params={"limit": 10, "offset": 20})
    assert [c["id"] for c in by_offset["calls"]] == seen[20:30]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"status": "ringing"}, "status"),
        ({"qualified": "yes"}, "qualified"),
        ({"limit": 10, "per_page": 10}, "per_page"),
        ({"offset": 10, "page": 2}, "page"),
        ({"page": 0}, "page"),
        ({"per_page": 501}, "per_page"),
        ({"start_date": "2026-01-01", "date_from": "2026-01-01"}, "date_from"),
        ({"date_to": "yesterday"}, "date_to"),
        ({"date_from": "2026-02-01", "date_to": "2026-01-01"}, "date_to"),
        ({"direction": "sideways"}, "direction"),
        ({"start_date": "01/02/2026"}, "start_date"),
        ({"start_date": "2026-02-01", "end_date": "2026-01-01"}, "end_date"),
        ({"updated_since": "yesterday"}, "updated_since"),
        ({"number_id": "123"}, "number_id"),
        ({"number_group_id": UNKNOWN}, "number_group_id"),
        ({"min_ai_score": 101}, "min_ai_score"),
        ({"min_duration": "long"}, "min_duration"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
async def test_bad_filters_are_422_naming_the_parameter(
    reader: Api, params: dict[str, Any], field: str
) -> None:
    error = await reader.error("GET", "/calls", 422, params=params)
    assert error["field"] == field and field in error["message"]


@pytest.mark.parametrize(
    ("legacy", "current"),
    [
        ({"date_from": "2026-01-01", "date_to": "2026-02-01"},
         {"start_date": "2026-01-01", "end_date": "2026-02-01"}),
        ({"status": "answered", "source": "google"}, {"status": "completed", "source": "google"}),
        ({"status": "voicemail"}, {"status": "voicemail"}),
        ({"page": 3, "per_page": 20, "status": "busy"}, {"offset": 40, "limit": 20, "status": "busy"}),
        ({"per_page": 7}, {"limit": 7}),
        ({"page": 2}, {"offset": 50}),
    ],
)  # fmt: skip
async def test_legacy_names_answer_as_the_current_ones(
    reader: Api, legacy: dict[str, Any], current: dict[str, Any]
) -> None:
    """An older docs page's filter names: the same calls, and page/per_page echoed as GET /numbers does."""
    old = await reader.data("GET", "/calls", params=legacy, role="viewer")
    new = await reader.data("GET", "/calls", params=current, role="viewer")
    assert new["calls"] and {k: v for k, v in old.items() if k not in ("page", "per_page")} == new
    if "page" in legacy or "per_page" in legacy:
        assert (old["page"], old["per_page"]) == (legacy.get("page", 1), legacy.get("per_page", 50))
    else:
        assert "page" not in old


async def test_missed_stands_for_no_answer_busy_and_failed(reader: Api) -> None:
    missed = await reader.data("GET", "/analytics/calls", params={"status": "missed", "group_by": "status"})
    assert {row["status"] for row in missed["rows"]} == set(MISSED)
    for status in MISSED:
        alone = await reader.data("GET", "/analytics/calls", params={"status": status})
        assert next(r["count"] for r in missed["rows"] if r["status"] == status) == alone["totals"]["count"]


async def test_calls_carry_the_webhook_payloads_fields(reader: Api, seeded: Sandbox) -> None:
    calls = calls_of(seeded)
    pooled = {n for p in seeded.state["number_pools"] for n in p["number_ids"]}
    sites = {p["website_url"] for p in seeded.state["number_pools"]}
    for call in calls:
        assert (call["caller_state"], call["caller_city"]) == AREAS[call["caller_number"][2:5]]
        if call["direction"] == "outbound":
            assert call["robo_risk_score"] is call["gclid"] is call["landing_page_url"] is None
            continue
        assert 0 <= call["robo_risk_score"] <= 100
        assert (call["robo_risk_score"] >= 70) == (call["ai_category"] == "spam")
        page = call["landing_page_url"]
        assert (page is not None) == (call["number_id"] in pooled)
        assert page is None or any(page.startswith(site) for site in sites)
        paid_google = (call["utm_source"], call["utm_medium"]) == ("google", "cpc")
        assert (call["gclid"] is not None) == (page is not None and paid_google)
    gclids = [c["gclid"] for c in calls if c["gclid"]]
    assert gclids and len(set(gclids)) == len(gclids) and all(g.startswith("Cj0KCQ") for g in gclids)
    added = ("caller_city", "caller_state", "robo_risk_score", "gclid", "landing_page_url", "has_recording")
    detail = await reader.data("GET", f"/calls/{calls[0]['id']}", role="viewer")
    assert {k: detail[k] for k in added} == {k: calls[0][k] for k in added}


async def test_has_recording_agrees_with_the_url_and_the_recording_endpoint(
    reader: Api, seeded: Sandbox
) -> None:
    calls = calls_of(seeded)
    assert all(c["has_recording"] == (c["recording_url"] is not None) for c in calls)
    assert {c["has_recording"] for c in calls} == {True, False}
    one_of_each = {(c["status"], c["direction"], c["has_recording"]): c for c in calls}
    for call in one_of_each.values():
        response = await reader("GET", f"/calls/{call['id']}/recording", role="viewer")
        assert response.status_code == (200 if call["has_recording"] else 404), call
        detail = await reader.data("GET", f"/calls/{call['id']}", role="viewer")
        assert detail["has_recording"] == call["has_recording"]
        assert detail["recording_url"] == (
            f"{BASE_URL}/calls/{call['id']}/recording" if call["has_recording"] else None
        )
        if call["has_recording"]:
            assert response.headers["content-type"] == "audio/mpeg"


async def test_call_detail_recording_and_legacy_transcription(reader: Api, seeded: Sandbox) -> None:
    call = next(c for c in calls_of(seeded) if c["has_transcription"])
    detail = await reader.data("GET", f"/calls/{call['id']}", role="viewer")
    assert {k: detail[k] for k in call if k != "recording_url"} == {
        k: v for k, v in call.items() if k != "recording_url"
    }
    assert detail["summary"] and detail["transcription"].startswith(("Agent:", "Caller:"))
    response = await reader("GET", f"/calls/{call['id']}/transcription", role="viewer")
    assert response.status_code == 200
    assert response.json() == {"call_id": call["id"], "transcription": detail["transcription"]}  # no envelope
    audio = await reader("GET", f"/calls/{call['id']}/recording", role="viewer")
    assert audio.headers["content-type"] == "audio/mpeg" and audio.content.startswith(b"ID3")


async def test_calls_without_recording_or_transcription_are_404(reader: Api, seeded: Sandbox) -> None:
    missed = next(c for c in calls_of(seeded) if c["status"] == "no-answer")
    assert missed["recording_url"] is None
    assert "recording" in (await reader.error("GET", f"/calls/{missed['id']}/recording", 404))["message"]
    assert (
        "transcription" in (await reader.error("GET", f"/calls/{missed['id']}/transcription", 404))["message"]
    )
    detail = await reader.data("GET", f"/calls/{missed['id']}")
    assert detail["transcription"] is None and detail["summary"] is None
    for suffix in ("", "/recording", "/transcription"):
        await reader.error("GET", f"/calls/{UNKNOWN}{suffix}", 404)
        await reader.error("GET", f"/calls/123{suffix}", 404)


# --- analytics


def _monday(day: str) -> str:
    start = date.fromisoformat(day)
    return date.fromordinal(start.toordinal() - start.weekday()).isoformat()


def _metrics(calls: list[dict[str, Any]]) -> dict[str, Any]:
    scores = [c["ai_score"] for c in calls if c["ai_score"] is not None]
    answered = sum(c["status"] == "completed" for c in calls)
    return {
        "count": len(calls),
        "avg_duration": round(sum(c["duration_seconds"] for c in calls) / len(calls), 1),
        "qualified_pct": round(100 * sum(c["qualified_ai"] for c in calls) / len(calls), 1),
        "avg_ai_score": round(sum(scores) / len(scores), 1) if scores else None,
        "total_duration": sum(c["duration_seconds"] for c in calls),
        "missed": sum(c["status"] in MISSED for c in calls),
        "answered": answered,
        "voicemail": sum(c["status"] == "voicemail" for c in calls),
        "qualified": sum(c["qualified_ai"] for c in calls),
        "answer_rate": round(100 * answered / len(calls), 1),
    }


async def test_analytics_groups_agree_with_independent_counts(reader: Api, seeded: Sandbox) -> None:
    metrics = ",".join(_metrics(calls_of(seeded)))
    data = await reader.data(
        "GET", "/analytics/calls", params={"group_by": "source,status", "metrics": metrics}, role="viewer"
    )
    calls = calls_of(seeded)
    assert data["group_by"] == ["source", "status"]
    assert data["totals"] == _metrics(calls)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for call in calls:
        groups.setdefault((call["source"], call["status"]), []).append(call)
    assert len(data["rows"]) == len(groups)
    for row in data["rows"]:
        assert row == {
            "source": row["source"],
            "status": row["status"],
            **_metrics(groups[row["source"], row["status"]]),
        }
    counts = [row["count"] for row in data["rows"]]
    assert counts == sorted(counts, reverse=True)


async def test_answer_rate_and_counts_by_source_for_qualified_calls(reader: Api, seeded: Sandbox) -> None:
    """The sandbox's own metrics (answered, voicemail, qualified, answer_rate), with the qualified filter."""
    params = {"group_by": "source", "metrics": "count,answered,answer_rate,qualified", "qualified": "true"}
    data = await reader.data("GET", "/analytics/calls", params=params, role="viewer")
    qualified = [c for c in calls_of(seeded) if c["qualified_ai"]]
    assert data["totals"]["count"] == data["totals"]["qualified"] == len(qualified)
    assert data["totals"]["answer_rate"] == 100.0  # only an answered call is qualified
    assert {r["source"]: r["count"] for r in data["rows"]} == Counter(c["source"] for c in qualified)


@pytest.mark.parametrize(
    ("field", "of_call"),
    [
        ("date", lambda c: c["created_at"][:10]),
        ("month", lambda c: c["created_at"][:7]),
        ("week", lambda c: _monday(c["created_at"][:10])),
        ("hour_of_day", lambda c: int(c["created_at"][11:13])),
        ("day_of_week", lambda c: date.fromisoformat(c["created_at"][:10]).strftime("%A").lower()),
        ("call_flow", lambda c: c["call_flow_name"]),
        ("tracking_number", lambda c: c["tracking_number"]),
        ("utm_campaign", lambda c: c["utm_campaign"]),
        ("ai_category", lambda c: c["ai_category"]),
    ],
)  # fmt: skip
async def test_analytics_by_each_kind_of_field(
    reader: Api, seeded: Sandbox, field: str, of_call: Any
) -> None:
    data = await reader.data(
        "GET", "/analytics/calls", params={"group_by": field, "start_date": "2025-12-01"}
    )
    expected = Counter(of_call(c) for c in calls_of(seeded) if c["created_at"] >= "2025-12-01")
    assert {row[field]: row["count"] for row in data["rows"]} == expected
    assert data["totals"] == {"count": sum(expected.values())}
    if field in ("date", "month", "week", "hour_of_day"):
        assert [row[field] for row in data["rows"]] == sorted(expected)
    if field == "day_of_week":
        assert data["rows"][0]["day_of_week"] == "monday" and data["rows"][-1]["day_of_week"] == "sunday"


async def test_analytics_without_group_by_and_with_filters(reader: Api, seeded: Sandbox) -> None:
    data = await reader.data(
        "GET", "/analytics/calls", params={"status": "completed", "metrics": "count,avg_ai_score"}
    )
    completed = [c for c in calls_of(seeded) if c["status"] == "completed"]
    expected = {k: v for k, v in _metrics(completed).items() if k in ("count", "avg_ai_score")}
    assert data == {"group_by": [], "rows": [expected], "totals": expected}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"group_by": "source,status,date,month"}, "group_by"),
        ({"group_by": "colour"}, "group_by"),
        ({"group_by": "source,source"}, "group_by"),
        ({"metrics": "count,revenue"}, "metrics"),
        ({"status": "lost"}, "status"),
    ],
)
async def test_analytics_validation(reader: Api, params: dict[str, str], field: str) -> None:
    error = await reader.error("GET", "/analytics/calls", 422, params=params)
    assert error["field"] == field


# --- dashboard


@pytest.mark.parametrize(("period", "days"), [(None, 30), ("7d", 7), ("today", 1), ("all", None)])
async def test_dashboard_agrees_with_the_calls(
    reader: Api, seeded: Sandbox, period: str | None, days: int | None
) -> None:
    data = await reader.data(
        "GET", "/dashboard/stats", params={"period": period} if period else {}, role="viewer"
    )
    start = None if days is None else date.fromordinal(date(2026, 3, 1).toordinal() - days).isoformat()
    calls = [c for c in calls_of(seeded) if start is None or c["created_at"] >= start]
    assert (data["period"], data["start_date"], data["end_date"]) == (period or "30d", start, "2026-03-01")
    assert data["total_calls"] == len(calls)
    assert data["answered"] == sum(c["status"] == "completed" for c in calls)
    assert data["missed"] == sum(c["status"] in MISSED for c in calls)
    assert data["qualified"] == sum(c["qualified_ai"] for c in calls)
    assert data["avg_duration_seconds"] == round(sum(c["duration_seconds"] for c in calls) / len(calls), 1)
    sources = Counter(c["source"] for c in calls)  # busiest first, ties by name
    assert [(s["source"], s["calls"]) for s in data["top_sources"]] == sorted(
        sources.items(), key=lambda s: (-s[1], s[0])
    )[:5]
    numbers = Counter(c["number_id"] for c in calls)
    assert [n["calls"] for n in data["top_numbers"]] == [count for _, count in numbers.most_common(5)]
    names = {n["id"]: n["name"] for n in seeded.state["numbers"]}
    assert all(n["name"] == names[n["number_id"]] for n in data["top_numbers"])


async def test_dashboard_rejects_unknown_periods(reader: Api) -> None:
    error = await reader.error("GET", "/dashboard/stats", 422, params={"period": "1y"})
    assert error["field"] == "period"
