"""trace_call_route: one caller's path through a flow, checked step by step on the seeded flows and on
configs built here for the branches the seed does not hold, and through the tool against the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cs_mcp import flows, routes_trace
from cs_mcp.routes_trace import Caller, trace
from cs_mcp.sandbox import Sandbox
from cs_mcp.sandbox.seed_data import BILLING, OFFICE, ON_CALL
from tests.conftest import call, call_error

pytestmark = pytest.mark.anyio
NEW_YORK = ZoneInfo("America/New_York")


def flow_config(sandbox: Sandbox, name: str) -> dict[str, Any]:
    flow = next(f for f in sandbox.state["call_flows"] if f["name"] == name)
    config: dict[str, Any] = flow["config_json"]
    return config


@pytest.fixture
def main_flow() -> dict[str, Any]:
    return flow_config(Sandbox(scale=1), "Main Sales Flow")


def new_york(day: int, hour: int, minute: int = 0) -> datetime:
    """December 2026 in New York: the 1st is a Tuesday, the 5th a Saturday."""
    return datetime(2026, 12, day, hour, minute, tzinfo=NEW_YORK)


def test_pressing_3_at_7_pm_on_a_weekday_reaches_the_after_hours_voicemail(main_flow: dict[str, Any]) -> None:
    traced = trace(main_flow, Caller(new_york(1, 19), "3"), UTC)
    assert [s.path for s in traced.steps] == ["steps[0]", "steps[1]", "steps[1].closed_steps[0]"]
    assert "tue 19:00 America/New_York: outside every window" in traced.steps[1].detail
    assert traced.ends == "voicemail" and traced.rings == [] and traced.if_no_answer is None


def test_pressing_3_in_office_hours_rings_billing_then_voicemail(main_flow: dict[str, Any]) -> None:
    traced = trace(main_flow, Caller(new_york(1, 10), "3"), UTC)
    ring, fallback = traced.steps[-2], traced.steps[-1]
    assert ring.path == "steps[1].windows[0].steps[0].options.3.steps[0]"
    assert BILLING in ring.detail and ring.when is None
    assert fallback.step.startswith("voicemail") and fallback.when == f"{BILLING} does not answer within 25s"
    assert (traced.ends, traced.if_no_answer, traced.rings) == ("forward", "voicemail", [BILLING])
    # Every path is one get_call_flow's paths resolve to that very step.
    for step in traced.steps:
        assert flows.describe(flows.resolve(main_flow, step.path)) == step.step


def test_saturday_morning_takes_the_second_window_and_the_menu_waits_without_keys(
    main_flow: dict[str, Any],
) -> None:
    saturday = trace(main_flow, Caller(new_york(5, 10)), UTC)
    assert saturday.steps[-1].path == "steps[1].windows[1].steps[0]" and saturday.rings == [OFFICE]
    menu = trace(main_flow, Caller(new_york(1, 10)), UTC)
    assert menu.ends == "menu" and menu.rings == []
    assert "3 Billing (rings +18135550105)" in menu.steps[-1].detail
    wrong_key = trace(main_flow, Caller(new_york(1, 10), "9"), UTC)
    assert wrong_key.steps[-1].path == "steps[1].windows[0].steps[0].invalid_steps[0]"
    assert wrong_key.ends == "forward" and wrong_key.if_no_answer == "hangup"


def test_keys_are_used_in_order_across_menus() -> None:
    nested = {
        "steps": [
            {
                "type": "ivr",
                "options": {
                    "1": {
                        "label": "Sales",
                        "steps": [
                            {
                                "type": "ivr",
                                "options": {
                                    "2": {
                                        "label": "New",
                                        "steps": [{"type": "forward", "destination": "+18135550001"}],
                                    }
                                },
                            }
                        ],
                    }
                },
            }
        ]
    }
    traced = trace(nested, Caller(new_york(1, 10), "12"), UTC)
    assert traced.steps[-1].path == "steps[0].options.1.steps[0].options.2.steps[0]"
    assert traced.rings == ["+18135550001"] and "30s" in traced.steps[-1].detail  # the default ring time


def test_a_schedule_without_its_own_zone_reads_the_business_zone() -> None:
    config = {
        "steps": [
            {
                "type": "schedule",
                "windows": [
                    {"days": ["tue"], "start": "09:00", "end": "17:00", "steps": [{"type": "greeting"}]}
                ],
                "closed_steps": [{"type": "voicemail"}],
            }
        ]
    }
    at = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)  # 10:30 in Chicago, 16:30 in UTC
    assert (
        trace(config, Caller(at), ZoneInfo("America/Chicago"))
        .steps[0]
        .detail.startswith("tue 10:30 America/Chicago: open")
    )
    late = datetime(2026, 12, 1, 17, 30, tzinfo=UTC)  # 11:30 in Chicago: open there, closed in UTC
    assert trace(config, Caller(late), UTC).ends == "voicemail"
    assert trace(config, Caller(late), ZoneInfo("America/Chicago")).ends == "hangup"


def test_zip_and_tag_routes_and_their_defaults() -> None:
    sandbox = Sandbox(scale=1)
    zips = flow_config(sandbox, "Service Area Router")
    assert (
        trace(zips, Caller(new_york(1, 10), zip="32803"), UTC).steps[0].detail == "ZIP 32803 matches route 2"
    )
    unknown_zip = trace(zips, Caller(new_york(1, 10), zip="90210"), UTC)
    assert "matches no route: the default route" in unknown_zip.steps[0].detail and unknown_zip.rings == [
        OFFICE
    ]
    no_zip = trace(zips, Caller(new_york(1, 10)), UTC)
    assert "no zip given" in no_zip.steps[0].detail
    tags = flow_config(sandbox, "Lead Qualifier")
    spam = trace(tags, Caller(new_york(1, 10), tags=frozenset({"Robocall"})), UTC)
    assert (
        spam.steps[0].path == "steps[0]"
        and "matches route 1" in spam.steps[0].detail
        and spam.ends == "voicemail"
    )
    untagged = trace(tags, Caller(new_york(1, 10)), UTC)
    assert untagged.ends == "round_robin" and len(untagged.rings) == 4


def test_rtb_multi_ring_webhook_and_failovers() -> None:
    sandbox = Sandbox(scale=1)
    auction = trace(flow_config(sandbox, "Pay-Per-Call Auction"), Caller(new_york(1, 10), zip="33602"), UTC)
    assert auction.ends == "rtb" and "keys in ZIP 33602" in auction.steps[1].detail
    assert "25.00 USD" in auction.steps[1].detail
    assert [s.when for s in auction.steps[2:]] == [
        "no buyer bids 25.00 USD or more",
        f"{OFFICE} does not answer within 25s",
    ]
    assert auction.steps[-1].path == "steps[1].failover_steps[0].failover_steps[0]"
    assert auction.if_no_answer == "voicemail"
    emergency = trace(flow_config(sandbox, "After Hours Emergency"), Caller(new_york(1, 3)), UTC)
    assert (
        emergency.ends == "multi_ring"
        and emergency.rings == ON_CALL
        and emergency.if_no_answer == "voicemail"
    )
    legacy = trace(flow_config(sandbox, "Legacy CRM Flow"), Caller(new_york(1, 3)), UTC)
    assert legacy.steps[1].detail.startswith("skipped") and legacy.rings == [OFFICE]


def test_zones_come_as_zones_or_names_and_unknown_ones_fall_back() -> None:
    assert routes_trace.zone(NEW_YORK, UTC) is NEW_YORK
    assert routes_trace.zone("America/New_York", UTC) == NEW_YORK
    assert routes_trace.zone("Mars/Olympus", UTC) is UTC and routes_trace.zone(None, UTC) is UTC


def test_moments_read_in_the_business_zone_unless_they_carry_an_offset() -> None:
    now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # still Nov 30 in New York
    assert routes_trace.moment("19:00", NEW_YORK, now) == datetime(2026, 11, 30, 19, 0, tzinfo=NEW_YORK)
    assert routes_trace.moment("2026-12-01T19:00", NEW_YORK, now) == new_york(1, 19)
    assert routes_trace.moment("2026-12-01T19:00Z", NEW_YORK, now).utcoffset() == UTC.utcoffset(None)
    for bad in ("2026-12-01", "7 pm", "25:00"):
        with pytest.raises(ValueError):
            routes_trace.moment(bad, NEW_YORK, now)


async def test_the_tool_traces_a_number_by_phone(connect: Any, sandbox: Sandbox) -> None:
    main_id = next(f["id"] for f in sandbox.state["call_flows"] if f["name"] == "Main Sales Flow")
    number = next(n for n in sandbox.state["numbers"] if n["call_flow_id"] == main_id)
    async with connect() as client:
        route = await call(
            client,
            "trace_call_route",
            number=number["phone_number"],
            at="2026-12-01T19:00-05:00",
            keypresses="3",
        )
        assert route["flow"] == "Main Sales Flow" and route["ends"] == "voicemail"
        assert route["steps"][-1]["path"] == "steps[1].closed_steps[0]"
        assert route["at"] == "2026-12-02T00:00+00:00 (UTC)"  # stated in the business's zone
        rung = await call(
            client, "trace_call_route", number=number["id"], at="2026-12-01T10:00-05:00", keypresses="3"
        )
        assert rung["rings"] == [BILLING] and rung["if_no_answer"] == "voicemail"


async def test_a_number_on_no_flow_and_bad_moments(connect: Any, sandbox: Sandbox) -> None:
    unrouted = next(n for n in sandbox.state["numbers"] if not n["call_flow_id"])
    async with connect() as client:
        route = await call(client, "trace_call_route", number=unrouted["phone_number"], at="10:00")
        assert route["ends"] == "no_flow" and route["steps"] == []
        sent = len(sandbox.requests)
        error = await call_error(client, "trace_call_route", number=unrouted["phone_number"], at="tomorrow")
        assert "`at` must be a date and time" in error and len(sandbox.requests) == sent
        error = await call_error(client, "trace_call_route", number="+1", at="10:00", keypresses="1x")
        assert "keypresses" in error and len(sandbox.requests) == sent
