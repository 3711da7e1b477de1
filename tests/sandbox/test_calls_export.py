"""GET /calls/export: the calls the /calls filters match, as CSV, checked against /calls itself."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from cs_mcp.sandbox import Sandbox
from cs_mcp.sandbox.resources import calls as calls_resource

from .conftest import BASE_URL, Api

pytestmark = pytest.mark.anyio
HEADER = [
    "id", "created_at", "direction", "status", "caller_number", "caller_name", "caller_city", "caller_state",
    "tracking_number", "number_id", "destination_number", "duration_seconds", "call_flow_name", "source",
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "gclid", "landing_page_url", "ai_score",
    "ai_category", "qualified_ai", "robo_risk_score", "cost_cents", "value_cents", "has_recording",
    "recording_url",
]  # fmt: skip


async def export(api: Api, params: dict[str, Any] | None = None) -> list[dict[str, str]]:
    response = await api("GET", "/calls/export", role="viewer", params=params or {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == "attachment; filename=calls.csv"
    reader = csv.DictReader(io.StringIO(response.text))
    assert reader.fieldnames == HEADER
    return list(reader)


async def listed_ids(api: Api, params: dict[str, Any]) -> list[str]:
    """Every call /calls answers for `params`, walked page by page with its cursor."""
    ids: list[str] = []
    page: dict[str, Any] = {**params, "limit": 500}
    while True:
        data = await api.data("GET", "/calls", params=page)
        ids += [c["id"] for c in data["calls"]]
        if not data["has_more"]:
            assert len(ids) == data["total"]
            return ids
        page = {**params, "limit": 500, "cursor": data["next_cursor"]}


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"start_date": "2026-02-01", "status": "completed"},
        {"qualified": "true", "source": "google"},
        {"status": "missed", "date_from": "2026-01-01", "date_to": "2026-02-01"},
        {"search": "garcia", "direction": "inbound"},
        {"min_ai_score": 90, "qualified": "false"},
    ],
)
async def test_rows_are_the_calls_the_same_filters_list(reader: Api, params: dict[str, Any]) -> None:
    rows = await export(reader, params)
    assert [row["id"] for row in rows] == await listed_ids(reader, params)


async def test_each_row_holds_the_calls_fields_as_text(reader: Api, seeded: Sandbox) -> None:
    rows = {row["id"]: row for row in await export(reader)}
    table = seeded.state["calls"]
    assert len(rows) == len(table)
    for call in (table.as_dict(row, BASE_URL) for row in table.rows[:300]):
        expected = {
            column: "" if call[column] is None else str(call[column]).lower()
            if isinstance(call[column], bool) else str(call[column])
            for column in HEADER
        }  # fmt: skip
        assert rows[call["id"]] == expected


async def test_paging_parameters_do_not_cut_the_export(reader: Api, seeded: Sandbox) -> None:
    assert len(await export(reader, {"limit": 5, "offset": 10, "page": 2})) == len(seeded.state["calls"])


async def test_bad_filters_are_the_apis_json_errors(reader: Api) -> None:
    error = await reader.error("GET", "/calls/export", 422, params={"qualified": "maybe"})
    assert error["field"] == "qualified"
    await reader.error("GET", "/calls/export", 401, role=None)


async def test_an_export_past_its_size_limit_asks_for_narrower_filters(
    reader: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calls_resource, "MAX_EXPORT_ROWS", 100)
    january = {"start_date": "2026-01-01", "end_date": "2026-02-01"}
    total = (await reader.data("GET", "/calls", params=january))["total"]
    error = await reader.error("GET", "/calls/export", 422, params=january)
    assert (error["total"], error["max_rows"]) == (total, 100) and "Narrow" in error["message"]
    assert len(await export(reader, {**january, "qualified": "true", "source": "bing"})) <= 100
