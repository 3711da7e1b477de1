"""The numbers endpoints: listing, export, stats, search, purchase, update, release."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date

import pytest

from cs_mcp.sandbox import Sandbox

from .conftest import NOW, Api

pytestmark = pytest.mark.anyio
UNKNOWN = "00000000-0000-4000-8000-000000000000"


async def test_list_returns_every_number_with_its_flow_name(reader: Api, seeded: Sandbox) -> None:
    data = await reader.data("GET", "/numbers", role="viewer")
    numbers = seeded.state["numbers"]
    assert data["total"] == len(numbers) == len(data["numbers"])
    flows = {f["id"]: f["name"] for f in seeded.state["call_flows"]}
    for shown, stored in zip(data["numbers"], numbers, strict=True):
        assert shown["id"] == stored["id"]
        assert shown["call_flow_name"] == flows.get(stored["call_flow_id"])
    assert list(data["numbers"][0]) == [
        "id", "phone_number", "friendly_name", "name", "status", "call_flow_id", "call_flow_name", "group_id",
        "group_name", "type", "number_source", "total_calls", "sms_enabled", "tcr_sw_state", "created_at",
    ]  # fmt: skip


async def test_numbers_show_a_friendly_name_and_their_first_group(reader: Api, seeded: Sandbox) -> None:
    groups = seeded.state["number_groups"]
    shown = (await reader.data("GET", "/numbers", role="viewer"))["numbers"]
    for number in shown:
        digits = number["phone_number"][2:]
        assert number["friendly_name"] == f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
        holders = [g for g in groups if number["id"] in g["number_ids"]]
        first = holders[0] if holders else {"id": None, "name": None}
        assert (number["group_id"], number["group_name"]) == (first["id"], first["name"])
    in_several = [n for n in shown if sum(n["id"] in g["number_ids"] for g in groups) > 1]
    assert in_several and any(n["group_id"] is None for n in shown)
    members = (await reader.data("GET", f"/number-groups/{groups[1]['id']}/members"))["numbers"]
    assert {n["id"]: n for n in shown if n["id"] in groups[1]["number_ids"]} == {n["id"]: n for n in members}


async def test_group_fields_follow_membership_changes(api: Api, sb: Sandbox) -> None:
    loner = next(
        n
        for n in sb.state["numbers"]
        if not any(n["id"] in g["number_ids"] for g in sb.state["number_groups"])
    )
    group = await api.data(
        "POST", "/number-groups", 201, json={"name": "Loners", "number_ids": [loner["id"]]}
    )
    patched = (await api.data("PATCH", f"/numbers/{loner['id']}", json={"name": "Not alone"}))["number"]
    assert (patched["group_id"], patched["group_name"]) == (group["id"], "Loners")
    await api.data("PUT", f"/number-groups/{group['id']}", json={"name": "Renamed"})
    listed = {n["id"]: n for n in (await api.data("GET", "/numbers"))["numbers"]}
    assert listed[loner["id"]]["group_name"] == "Renamed"
    await api.data("DELETE", f"/number-groups/{group['id']}/members/{loner['id']}")
    listed = {n["id"]: n for n in (await api.data("GET", "/numbers"))["numbers"]}
    assert (listed[loner["id"]]["group_id"], listed[loner["id"]]["group_name"]) == (None, None)


async def test_list_pages_with_page_and_per_page(reader: Api, seeded: Sandbox) -> None:
    data = await reader.data("GET", "/numbers?page=2&per_page=10")
    assert data["total"] == len(seeded.state["numbers"])
    assert [n["id"] for n in data["numbers"]] == [n["id"] for n in seeded.state["numbers"][10:20]]
    assert (data["page"], data["per_page"]) == (2, 10)
    error = await reader.error("GET", "/numbers?per_page=0", 422)
    assert error["field"] == "per_page"


async def test_export_is_csv_without_envelope(reader: Api, seeded: Sandbox) -> None:
    response = await reader("GET", "/numbers/export", role="viewer")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == [
        "id", "phone_number", "name", "status", "type", "call_flow_name", "total_calls", "sms_enabled",
        "created_at",
    ]  # fmt: skip
    assert len(rows) == len(seeded.state["numbers"])
    assert {r["sms_enabled"] for r in rows} == {"true", "false"}
    assert sum(int(r["total_calls"]) for r in rows) == len(seeded.state["calls"])


async def test_bulk_stats_are_computed_from_the_data(reader: Api, seeded: Sandbox) -> None:
    data = await reader.data("GET", "/numbers/bulk-stats")
    numbers = seeded.state["numbers"]
    ids = {n["id"] for n in numbers}
    since = NOW.strftime("%Y-%m-%d")
    recent = [
        c
        for c in seeded.state["calls"]
        if c["number_id"] in ids and c["created_at"] >= _days_before(since, 30)
    ]
    assert data == {
        "total_numbers": len(numbers),
        "active": sum(n["status"] == "active" for n in numbers),
        "paused": sum(n["status"] == "paused" for n in numbers),
        "total_calls": len(seeded.state["calls"]),
        "calls_last_30_days": len(recent),
        "by_type": dict(Counter(n["type"] for n in numbers)),
    }


def _days_before(day: str, days: int) -> str:
    return date.fromordinal(date.fromisoformat(day).toordinal() - days).isoformat()


async def test_number_stats_agree_with_its_calls(reader: Api, seeded: Sandbox) -> None:
    number = max(seeded.state["numbers"], key=lambda n: n["total_calls"])
    calls = [c for c in seeded.state["calls"] if c["number_id"] == number["id"]]
    data = await reader.data("GET", f"/numbers/{number['id']}/stats", role="viewer")
    assert data["total_calls"] == number["total_calls"] == len(calls)
    assert data["answered"] == sum(c["status"] == "completed" for c in calls)
    assert data["missed"] == sum(c["status"] in ("no-answer", "busy", "failed") for c in calls)
    assert data["voicemails"] == sum(c["status"] == "voicemail" for c in calls)
    assert data["qualified"] == sum(c["qualified_ai"] for c in calls)
    assert data["avg_duration_seconds"] == round(sum(c["duration_seconds"] for c in calls) / len(calls), 1)
    assert sum(d["calls"] for d in data["by_day"]) == len(calls)
    assert data["by_day"] == sorted(data["by_day"], key=lambda d: d["date"])

    january = await reader.data(
        "GET", f"/numbers/{number['id']}/stats?start_date=2026-01-01&end_date=2026-02-01"
    )
    assert january["total_calls"] == sum("2026-01" in c["created_at"][:7] for c in calls)
    assert {d["date"][:7] for d in january["by_day"]} == {"2026-01"}
    legacy = await reader.data(
        "GET", f"/numbers/{number['id']}/stats?date_from=2026-01-01&date_to=2026-02-01"
    )
    assert legacy == january


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/numbers/{UNKNOWN}/stats", 404),
        ("/numbers/not-a-uuid/stats", 404),
        ("/numbers/{id}/stats?start_date=2026-13-01", 422),
        ("/numbers/{id}/stats?start_date=2026-02-01&end_date=2026-02-01", 422),
    ],
)
async def test_number_stats_errors(reader: Api, seeded: Sandbox, path: str, status: int) -> None:
    await reader.error("GET", path.replace("{id}", seeded.state["numbers"][0]["id"]), status)


async def test_search_is_deterministic_and_honours_the_filters(reader: Api, seeded: Sandbox) -> None:
    first = await reader.data(
        "POST", "/numbers/search", json={"area_code": "813", "contains": "55", "limit": 5}
    )
    again = await reader.data(
        "POST", "/numbers/search", json={"area_code": "813", "contains": "55", "limit": 5}
    )
    assert first == again and len(first["numbers"]) == 5
    owned = {n["phone_number"] for n in seeded.state["numbers"]}
    for candidate in first["numbers"]:
        assert candidate["phone_number"].startswith("+1813") and "55" in candidate["phone_number"][5:]
        assert candidate["phone_number"] not in owned
        assert (candidate["region"], candidate["locality"], candidate["type"]) == ("FL", "Tampa", "local")
        assert candidate["capabilities"] == {"voice": True, "sms": True, "mms": True}
        assert candidate["monthly_cost_cents"] > 0 and candidate["friendly_name"].startswith("(813) ")
    toll_free = await reader.data("POST", "/numbers/search", json={"type": "toll_free"})
    assert len(toll_free["numbers"]) == 10
    assert all(
        c["type"] == "toll_free" and c["phone_number"][2:4] == "8" + c["phone_number"][3]
        for c in toll_free["numbers"]
    )
    nowhere = await reader.data("POST", "/numbers/search", json={"area_code": "999"})
    assert nowhere == {"numbers": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "area_code"),
        ({"area_code": "81"}, "area_code"),
        ({"area_code": "888"}, "area_code"),
        ({"area_code": "813", "type": "toll_free"}, "area_code"),
        ({"area_code": "813", "type": "mobile"}, "type"),
        ({"area_code": "813", "contains": "5a"}, "contains"),
        ({"area_code": "813", "limit": 0}, "limit"),
        ({"area_code": "813", "areacode": "1"}, "areacode"),
    ],
)
async def test_search_validation(reader: Api, body: dict[str, object], field: str) -> None:
    error = await reader.error("POST", "/numbers/search", 422, json=body)
    assert error["field"] == field and field in error["message"]


async def _candidate(api: Api, area: str = "727") -> str:
    data = await api.data("POST", "/numbers/search", json={"area_code": area, "limit": 1})
    return data["numbers"][0]["phone_number"]


async def test_purchase_adds_the_number_once(api: Api, sb: Sandbox) -> None:
    phone = await _candidate(api)
    flow = sb.state["call_flows"][1]
    data = await api.data(
        "POST",
        "/numbers/purchase",
        201,
        json={"phone_number": phone, "name": "Spring Promo", "call_flow_id": flow["id"]},
    )
    number = data["number"]
    assert (number["phone_number"], number["name"], number["call_flow_name"]) == (
        phone,
        "Spring Promo",
        flow["name"],
    )
    assert (number["status"], number["total_calls"], number["type"], number["sms_enabled"]) == (
        "active",
        0,
        "local",
        True,
    )
    listed = await api.data("GET", "/numbers")
    assert sum(n["phone_number"] == phone for n in listed["numbers"]) == 1
    assert phone not in {
        c["phone_number"]
        for c in (await api.data("POST", "/numbers/search", json={"area_code": "727"}))["numbers"]
    }
    error = await api.error("POST", "/numbers/purchase", 409, json={"phone_number": phone})
    assert "already" in error["message"]
    assert sum(n["phone_number"] == phone for n in sb.state["numbers"]) == 1


async def test_purchase_of_a_toll_free_number_without_a_name(api: Api) -> None:
    data = await api.data(
        "POST", "/numbers/search", json={"type": "toll_free", "area_code": "888", "limit": 1}
    )
    phone = data["numbers"][0]["phone_number"]
    number = (await api.data("POST", "/numbers/purchase", 201, json={"phone_number": phone}))["number"]
    assert number["type"] == "toll_free" and not number["sms_enabled"] and number["name"].startswith("(888) ")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"phone_number": "+18135550100"}, 409),  # a real-looking number not in stock
        ({"phone_number": "+442071838750"}, 409),
        ({"phone_number": "813-555-0100"}, 422),
        ({}, 422),
        ({"phone_number": "{candidate}", "call_flow_id": UNKNOWN}, 422),
        ({"phone_number": "{candidate}", "call_flow_id": "flow-1"}, 422),
        ({"phone_number": "{candidate}", "name": ""}, 422),
    ],
)
async def test_purchase_errors_change_nothing(
    api: Api, sb: Sandbox, body: dict[str, str], status: int
) -> None:
    candidate = await _candidate(api)
    body = {k: v.replace("{candidate}", candidate) for k, v in body.items()}
    before = list(sb.state["numbers"])
    await api.error("POST", "/numbers/purchase", status, json=body)
    assert sb.state["numbers"] == before


async def test_an_owned_number_cannot_be_bought(api: Api, sb: Sandbox) -> None:
    owned = sb.state["numbers"][0]["phone_number"]
    error = await api.error("POST", "/numbers/purchase", 409, json={"phone_number": owned})
    assert owned in error["message"]


async def test_patch_renames_reassigns_pauses_and_unassigns(api: Api, sb: Sandbox) -> None:
    number = sb.state["numbers"][0]
    flow = sb.state["call_flows"][-1]
    data = await api.data(
        "PATCH",
        f"/numbers/{number['id']}",
        json={"name": "Renamed", "call_flow_id": flow["id"], "status": "paused"},
    )
    assert data["number"]["name"] == "Renamed" and data["number"]["call_flow_name"] == flow["name"]
    assert (number["name"], number["call_flow_id"], number["status"]) == ("Renamed", flow["id"], "paused")
    flow_numbers = await api.data("GET", f"/call-flows/{flow['id']}/numbers")
    assert number["id"] in {n["id"] for n in flow_numbers["numbers"]}
    data = await api.data("PATCH", f"/numbers/{number['id']}", json={"call_flow_id": None})
    assert data["number"]["call_flow_id"] is None and data["number"]["call_flow_name"] is None
    assert number["name"] == "Renamed"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"call_flow_id": UNKNOWN}, "call_flow_id"),
        ({"status": "deleted"}, "status"),
        ({"name": "  "}, "name"),
        ({"label": "x"}, "label"),
        ({}, None),
    ],
)
async def test_patch_validation(api: Api, sb: Sandbox, body: dict[str, str], field: str | None) -> None:
    number = sb.state["numbers"][0]
    before = dict(number)
    error = await api.error("PATCH", f"/numbers/{number['id']}", 422, json=body)
    assert error.get("field") == field
    assert number == before


async def test_malformed_json_is_a_400(api: Api, sb: Sandbox) -> None:
    number = sb.state["numbers"][0]
    error = await api.error("PATCH", f"/numbers/{number['id']}", 400, content=b"{name: x}")
    assert "JSON" in error["message"]
    await api.error("PATCH", f"/numbers/{number['id']}", 422, json=["name"])


async def test_release_removes_the_number_everywhere(api: Api, sb: Sandbox) -> None:
    pool = sb.state["number_pools"][0]
    number_id = pool["number_ids"][0]
    groups = [g for g in sb.state["number_groups"] if number_id in g["number_ids"]]
    data = await api.data("DELETE", f"/numbers/{number_id}")
    assert data == {"released": True, "id": number_id}
    assert number_id not in {n["id"] for n in sb.state["numbers"]}
    assert number_id not in pool["number_ids"] and all(number_id not in g["number_ids"] for g in groups)
    assert any(c["number_id"] == number_id for c in sb.state["calls"])  # history stays
    await api.error("DELETE", f"/numbers/{number_id}", 404)
    await api.error("GET", f"/numbers/{number_id}/stats", 404)
    await api.error("DELETE", "/numbers/nope", 404)
