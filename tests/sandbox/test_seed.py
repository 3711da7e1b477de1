"""The seeded business: deterministic, realistic, internally consistent, and scalable."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest

from cs_mcp.sandbox import INJECTION_SAMPLES, INJECTION_TEXTS, SANDBOX_KEYS, Sandbox, SandboxTransport
from cs_mcp.sandbox.formats import is_e164, is_uuid
from cs_mcp.sandbox.validation import STEP_FIELDS, validate_flow_config

from .conftest import BASE_URL, NOW

INVISIBLE = {"\u200b", "\u202e", "\u202c", "\u2066", "\u2069"}


def snapshot(sb: Sandbox) -> dict[str, Any]:
    return {key: list(value) for key, value in sb.state.items()}


def test_same_scale_and_anchor_give_identical_data(seeded: Sandbox) -> None:
    assert snapshot(Sandbox(now=NOW)) == snapshot(seeded)


def test_another_anchor_shifts_time_but_not_the_business(seeded: Sandbox) -> None:
    later = Sandbox(now=NOW + timedelta(days=10))
    assert [n["phone_number"] for n in later.state["numbers"]] == [
        n["phone_number"] for n in seeded.state["numbers"]
    ]
    assert later.state["calls"][0]["created_at"] > seeded.state["calls"][0]["created_at"]


def test_default_anchor_is_today_midnight_utc() -> None:
    sb = Sandbox()
    assert (sb.now.hour, sb.now.minute, sb.now.second, sb.now.utcoffset()) == (0, 0, 0, timedelta(0))


def test_scale_must_be_positive() -> None:
    with pytest.raises(ValueError, match="scale"):
        Sandbox(scale=0)


def find(sb: Sandbox, resource: str, ident: str) -> dict[str, Any]:
    state = sb.state
    if resource == "call":
        return state["calls"].detail(state["calls"].find(ident))  # type: ignore[arg-type]
    if resource == "form_submission":
        return next(s for f in state["forms"] for s in f["submissions"] if s["id"] == ident)
    return next(item for item in state[f"{resource}s"] if item["id"] == ident)  # type: ignore[literal-required]


@pytest.mark.parametrize("sample", INJECTION_SAMPLES, ids=lambda s: f"{s.resource}.{s.field}")
def test_injection_samples_are_planted(seeded: Sandbox, sample: Any) -> None:
    record = find(seeded, sample.resource, sample.id)
    value = record
    for part in sample.field.split("."):
        value = value[part]
    assert value in INJECTION_TEXTS.values()
    assert any(word in value.lower().replace("\u200b", "") for word in ("instruction", "ignore", "assistant"))


def test_some_injections_hide_control_characters(seeded: Sandbox) -> None:
    hidden = [text for text in INJECTION_TEXTS.values() if set(text) & INVISIBLE]
    assert len(hidden) >= 3
    assert len({s.id for s in INJECTION_SAMPLES}) == len(INJECTION_SAMPLES)


def test_injected_text_ends_its_conversation(seeded: Sandbox) -> None:
    texts = {t["id"]: t for t in seeded.state["texts"]}
    for sample in (s for s in INJECTION_SAMPLES if s.resource == "text"):
        text = texts[sample.id]
        conversation = next(c for c in seeded.state["conversations"] if c["contact"] == text["from_number"])
        assert conversation["last_message_preview"] == text["body"][:100]


def test_numbers_are_varied_like_a_real_account(seeded: Sandbox) -> None:
    numbers = seeded.state["numbers"]
    assert 35 <= len(numbers) <= 50
    assert len({n["id"] for n in numbers}) == len({n["phone_number"] for n in numbers}) == len(numbers)
    assert all(is_uuid(n["id"]) and is_e164(n["phone_number"]) for n in numbers)
    areas = Counter(n["phone_number"][2:5] for n in numbers)
    assert {"813", "727", "305", "407", "512", "212"} <= set(areas)
    assert any(n["type"] == "toll_free" and n["phone_number"][2:5] in ("800", "877", "888") for n in numbers)
    assert any(n["status"] == "paused" for n in numbers)
    assert any(n["total_calls"] == 0 for n in numbers)
    assert any(not n["sms_enabled"] for n in numbers)
    assert any(n["call_flow_id"] is None for n in numbers)
    assert {"Google Ads Tampa", "Facebook - Miami Plumbing", "Direct Mail Q3"} <= {n["name"] for n in numbers}


def test_total_calls_agree_with_the_calls(seeded: Sandbox) -> None:
    per_number = Counter(c["number_id"] for c in seeded.state["calls"])
    assert all(n["total_calls"] == per_number[n["id"]] for n in seeded.state["numbers"])
    assert sum(n["total_calls"] for n in seeded.state["numbers"]) == len(seeded.state["calls"])


def step_types(steps: list[dict[str, Any]]) -> set[str]:
    found = set()
    for step in steps:
        found.add(step["type"])
        nested = [
            *step.get("failover_steps", []),
            *step.get("closed_steps", []),
            *step.get("default_steps", []),
        ]
        nested += [s for option in step.get("options", {}).values() for s in option["steps"]]
        nested += [s for part in (*step.get("windows", []), *step.get("routes", [])) for s in part["steps"]]
        found |= step_types(nested)
    return found


def test_call_flows_use_every_step_type_and_have_histories(seeded: Sandbox) -> None:
    flows = seeded.state["call_flows"]
    assert 6 <= len(flows) <= 10
    used = set().union(*(step_types(f["config_json"]["steps"]) for f in flows))
    assert used == set(STEP_FIELDS)
    ivr_with_schedule = [
        f
        for f in flows
        for s in f["config_json"]["steps"]
        if s["type"] == "ivr"
        and "schedule" in step_types([x for o in s["options"].values() for x in o["steps"]])
    ]
    assert ivr_with_schedule
    for flow in flows:
        validate_flow_config(flow["config_json"])
        versions = flow["versions"]
        assert len(versions) >= 2 and versions[-1]["version"] == flow["config_version"]
        assert versions[-1]["config_json"] == flow["config_json"]
        assert versions[0]["config_json"] != flow["config_json"]


def test_calls_cover_six_months_with_realistic_fields(seeded: Sandbox) -> None:
    calls = list(seeded.state["calls"])
    assert 2000 <= len(calls) <= 5000
    times = [c["created_at"] for c in calls]
    assert times == sorted(times, reverse=True)
    assert times[0] < "2026-03-01T00:00:00Z" and times[-1] < "2025-09-15"
    assert {c["status"] for c in calls} == {"completed", "no-answer", "voicemail", "busy", "failed"}
    assert {c["direction"] for c in calls} == {"inbound", "outbound"}
    assert {"google", "facebook", "direct", "organic", "bing"} <= {c["source"] for c in calls}
    scored = [c["ai_score"] for c in calls if c["ai_score"] is not None]
    assert min(scored) >= 0 and max(scored) <= 100 and len(set(scored)) > 50
    assert any(c["qualified_ai"] for c in calls) and not all(c["qualified_ai"] for c in calls)
    assert all(c["duration_seconds"] == 0 for c in calls if c["status"] in ("no-answer", "busy", "failed"))
    assert any(c["caller_name"] is None for c in calls) and any(c["utm_campaign"] for c in calls)
    assert all(c["has_transcription"] <= (c["status"] == "completed") for c in calls)


def test_other_resources_are_seeded(seeded: Sandbox) -> None:
    state = seeded.state
    assert 3 <= len(state["number_groups"]) <= 4 and 2 <= len(state["number_pools"]) <= 3
    assert len(state["forms"]) == 3 and all(f["fields"] and f["submissions"] for f in state["forms"])
    assert len(state["voicemails"]) == sum(
        1 for c in state["calls"] if c["status"] == "voicemail" and c["direction"] == "inbound"
    )
    assert all(v["transcription"] for v in state["voicemails"])
    deliveries = state["webhook_deliveries"]
    assert any(d["status_code"] == 500 for d in deliveries) and any(
        d["status_code"] is None for d in deliveries
    )
    assert all(d["success"] == (d["status_code"] == 200) for d in deliveries)
    assert len(state["sms_events"]) == len(state["texts"])
    for conversation in state["conversations"]:
        thread = [t for t in state["texts"] if conversation["contact"] in (t["from_number"], t["to_number"])]
        assert conversation["message_count"] == len(thread)
        assert conversation["last_message_at"] == thread[-1]["created_at"]


def test_scale_100_multiplies_the_business(big: Sandbox) -> None:
    """(How long scale 100 takes to build is measured by the benchmarks, not asserted here.)"""
    sandbox, seeded = big, Sandbox(scale=1, now=big.now)
    for key in ("numbers", "call_flows", "calls", "texts", "conversations", "voicemails", "number_groups"):
        assert len(sandbox.state[key]) == pytest.approx(100 * len(seeded.state[key]), rel=0.1), key
    assert len({n["phone_number"] for n in sandbox.state["numbers"]}) == len(sandbox.state["numbers"])
    # The first copy of the business is the scale-1 business.
    assert sandbox.state["numbers"][: len(seeded.state["numbers"])] == seeded.state["numbers"]


@pytest.mark.anyio
async def test_scale_100_queries_answer(big: Sandbox) -> None:
    """(Their speed is the benchmarks' to measure.)"""
    sandbox = big
    headers = {"Authorization": f"Bearer {SANDBOX_KEYS['viewer']}"}
    async with httpx.AsyncClient(
        transport=SandboxTransport(sandbox), base_url=BASE_URL, headers=headers
    ) as client:
        for path in (
            "/calls?limit=500&status=completed&min_ai_score=60",
            "/calls?search=tampa&start_date=2026-01-01",
            "/analytics/calls?group_by=source,status,month&metrics=count,avg_duration,qualified_pct,missed",
            "/dashboard/stats",
        ):
            response = await client.get(path)
            assert response.status_code == 200, response.text
        assert (await client.get("/calls")).json()["data"]["total"] == len(sandbox.state["calls"])
