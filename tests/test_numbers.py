"""The numbers toolset, every tool through a real MCP client against the sandbox.

Expectations are computed from `sandbox.state` independently of the tools, and `sandbox.requests`
shows what reached the API (nothing, for refused or unconfirmed calls).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mcp.client import Client

from cs_mcp.sandbox import Sandbox
from tests.conftest import Connect, call, call_error, confirmed

pytestmark = pytest.mark.anyio

MANAGER_TOOLS = {"search_available_numbers", "purchase_number", "update_number", "release_number"}


def numbers(sandbox: Sandbox) -> list[dict[str, Any]]:
    return sandbox.state["numbers"]


def writes(sandbox: Sandbox) -> list[Any]:
    """Requests that reached the API and could change something."""
    return [r for r in sandbox.requests if r.method != "GET"]


async def every_page(client: Client, tool: str, **arguments: Any) -> tuple[list[dict[str, Any]], list[dict]]:
    """All items of a list tool, following next_cursor; also every page as returned."""
    pages = [await call(client, tool, **arguments)]
    while pages[-1].get("next_cursor"):
        pages.append(await call(client, tool, **arguments, cursor=pages[-1]["next_cursor"]))
    return [item for page in pages for item in page["items"]], pages


async def listed_ids(client: Client, **filters: Any) -> list[str]:
    items, _ = await every_page(client, "list_numbers", limit=100, **filters)
    return [item["id"] for item in items]


# --- list_numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "keep"),
    [
        ({"status": "paused"}, lambda n: n["status"] == "paused"),
        ({"status": "active"}, lambda n: n["status"] == "active"),
        ({"type": "toll_free"}, lambda n: n["type"] == "toll_free"),
        ({"has_calls": False}, lambda n: n["total_calls"] == 0),
        ({"has_calls": True}, lambda n: n["total_calls"] > 0),
        ({"sms_enabled": False}, lambda n: not n["sms_enabled"]),
    ],
    ids=["paused", "active", "toll_free", "no_calls", "with_calls", "no_sms"],
)
async def test_list_filters_match_state(sandbox: Sandbox, connect: Connect, filters: dict, keep: Any) -> None:
    expected = {n["id"] for n in numbers(sandbox) if keep(n)}
    assert expected, f"the seed should have numbers for {filters}"
    async with connect() as client:
        got = await listed_ids(client, **filters)
    assert sorted(got) == sorted(expected)


async def test_has_calls_false_is_exactly_the_numbers_without_calls(
    sandbox: Sandbox, connect: Connect
) -> None:
    # Make one more number call-less through the state, so the filter cannot be a hard-coded list.
    quiet = next(n for n in numbers(sandbox) if n["total_calls"] > 0)
    quiet["total_calls"] = 0
    expected = {n["id"] for n in numbers(sandbox) if n["total_calls"] == 0}
    async with connect() as client:
        page = await call(client, "list_numbers", has_calls=False, limit=100)
    assert {item["id"] for item in page["items"]} == expected
    assert quiet["id"] in expected
    assert page["total"] == len(expected)
    assert page["summary"]["total_calls"] == {"sum": 0, "zero": len(expected), "max": 0}


async def test_contains_matches_names_and_digits(sandbox: Sandbox, connect: Connect) -> None:
    word = numbers(sandbox)[0]["name"].split()[0]
    by_name = {n["id"] for n in numbers(sandbox) if word.casefold() in n["name"].casefold()}
    digits = numbers(sandbox)[3]["phone_number"][-4:]
    by_digits = {n["id"] for n in numbers(sandbox) if digits in n["phone_number"] or digits in n["name"]}
    async with connect() as client:
        assert sorted(await listed_ids(client, contains=word.upper())) == sorted(by_name)
        assert sorted(await listed_ids(client, contains=digits)) == sorted(by_digits)
        assert numbers(sandbox)[3]["id"] in by_digits


async def test_pages_together_are_all_matches_without_duplicates(sandbox: Sandbox, connect: Connect) -> None:
    async with connect() as client:
        items, pages = await every_page(client, "list_numbers", limit=7, sort="-total_calls")
    ids = [item["id"] for item in items]
    assert len(pages) > 2
    assert len(ids) == len(set(ids)) == len(numbers(sandbox))
    assert set(ids) == {n["id"] for n in numbers(sandbox)}
    assert all(page["total"] == len(numbers(sandbox)) for page in pages)
    calls = [item["total_calls"] for item in items]
    assert calls == sorted(calls, reverse=True)


@pytest.mark.parametrize("spelling", ["total_calls desc", "total_calls:DESC", "total_calls descending"])
async def test_sort_takes_the_spellings_models_reach_for(connect: Connect, spelling: str) -> None:
    async with connect() as client:
        canonical = await call(client, "list_numbers", limit=10, sort="-total_calls")
        assert [i["id"] for i in (await call(client, "list_numbers", limit=10, sort=spelling))["items"]] == [
            i["id"] for i in canonical["items"]
        ]
        ascending = await call(client, "list_numbers", limit=100, sort="total_calls asc")
        calls = [i["total_calls"] for i in ascending["items"]]
        assert calls == sorted(calls) and calls != sorted(calls, reverse=True)
        # An unknown field names the ones that work and how to reverse them; an unparseable one is refused.
        error = await call_error(client, "list_numbers", sort="popularity desc")
        assert "total_calls" in error and "-field" in error
        assert "sort" in await call_error(client, "list_numbers", sort="total calls; drop table")
        for unreadable in ("total_calls sideways", "-total_calls desc", "x" * 500):
            assert "-field for descending" in await call_error(client, "list_numbers", sort=unreadable)


async def test_fields_selects_exactly_the_fields_named_and_names_the_ones_no_item_has(
    sandbox: Sandbox, connect: Connect
) -> None:
    async with connect() as client:
        plain = await call(client, "list_numbers", limit=5)
        result = await client.call_tool(
            "list_numbers", {"limit": 5, "fields": ["id", "created_at", "popularity"]}
        )
        as_text = await call(client, "list_numbers", limit=5, fields="id, created_at, popularity")
    wide = result.structured_content
    assert "created_at" not in plain["items"][0]
    by_id = {n["id"]: n for n in numbers(sandbox)}
    assert all(set(item) == {"id", "created_at"} for item in wide["items"]), "exactly the fields named"
    assert all(item["created_at"] == by_id[item["id"]]["created_at"] for item in wide["items"])
    assert as_text["items"] == wide["items"], "a comma-separated string names the same fields"
    text = result.content[0].text
    assert "no item has popularity" in text and "tcr_sw_state" in text.rsplit("these items carry", 1)[1]
    assert "note" not in wide


async def test_a_wrong_argument_name_is_answered_with_the_real_ones(
    sandbox: Sandbox, connect: Connect
) -> None:
    sent = len(sandbox.requests)
    async with connect() as client:
        error = await call_error(
            client, "get_number_stats", number_id=numbers(sandbox)[0]["id"], start_date="2026-01-01"
        )
    assert "`start_date` is not an argument" in error and "since" in error and "before" in error
    assert len(sandbox.requests) == sent


async def test_cursor_from_another_query_is_refused(connect: Connect) -> None:
    async with connect() as client:
        first = await call(client, "list_numbers", limit=3)
        assert first["next_cursor"]
        error = await call_error(
            client, "list_numbers", status="active", limit=3, cursor=first["next_cursor"]
        )
        assert "cursor" in error and "other filters" in error
        assert "cursor" in await call_error(client, "list_numbers", cursor="not-a-cursor")
        # The same query with another page size keeps its cursor.
        second = await call(client, "list_numbers", limit=5, cursor=first["next_cursor"])
        assert second["items"]


async def test_summary_equals_independent_counts(sandbox: Sandbox, connect: Connect) -> None:
    flow_names = {f["id"]: f["name"] for f in sandbox.state["call_flows"]}
    state = numbers(sandbox)
    async with connect() as client:
        summary = (await call(client, "list_numbers", limit=1))["summary"]
        local = (await call(client, "list_numbers", type="local", limit=1))["summary"]
    assert summary["by_status"] == dict(Counter(n["status"] for n in state))
    assert summary["by_type"] == dict(Counter(n["type"] for n in state))
    by_flow = Counter(flow_names.get(n["call_flow_id"], "(none)") for n in state)
    assert sum(summary["by_call_flow_name"].values()) == len(state)
    for name, count in by_flow.most_common(3):
        assert summary["by_call_flow_name"][name] == count
    totals = [n["total_calls"] for n in state]
    assert summary["total_calls"] == {
        "sum": sum(totals),
        "zero": totals.count(0),
        "max": max(totals),
    }
    assert local["total_calls"]["sum"] == sum(n["total_calls"] for n in state if n["type"] == "local")


# --- get_number -------------------------------------------------------------------------------------


async def test_get_number_by_id_phone_and_exact_name(sandbox: Sandbox, connect: Connect) -> None:
    target = numbers(sandbox)[5]
    local = target["phone_number"].removeprefix("+1")
    async with connect() as client:
        for reference in (
            target["id"],
            target["id"].upper(),
            target["phone_number"],
            f"({local[:3]}) {local[3:6]}-{local[6:]}",
            target["name"],
            target["name"].upper(),
        ):
            got = await call(client, "get_number", number=reference)
            assert got["id"] == target["id"], reference
            assert got["phone_number"] == target["phone_number"]
            assert got["total_calls"] == target["total_calls"]


async def test_get_number_ambiguous_name_lists_candidates(sandbox: Sandbox, connect: Connect) -> None:
    first, second = numbers(sandbox)[0], numbers(sandbox)[1]
    second["name"] = first["name"]
    async with connect() as client:
        error = await call_error(client, "get_number", number=first["name"])
    assert "2 numbers are named" in error
    assert first["phone_number"] in error and second["phone_number"] in error


async def test_get_number_unknown_is_a_clear_error(connect: Connect) -> None:
    async with connect() as client:
        error = await call_error(client, "get_number", number="No Such Line")
        assert "No number matches 'No Such Line'" in error and "list_numbers" in error
        assert "No number matches" in await call_error(client, "get_number", number="+19995550000")


# --- stats ------------------------------------------------------------------------------------------


def since(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).date().isoformat()


async def test_bulk_stats_agree_with_state(sandbox: Sandbox, connect: Connect) -> None:
    state = numbers(sandbox)
    recent = since(30)
    async with connect() as client:
        stats = await call(client, "get_numbers_bulk_stats")
    assert stats["total_numbers"] == len(state)
    assert stats["active"] == sum(n["status"] == "active" for n in state)
    assert stats["paused"] == sum(n["status"] == "paused" for n in state)
    assert stats["total_calls"] == sum(n["total_calls"] for n in state)
    assert stats["by_type"] == dict(Counter(n["type"] for n in state))
    in_window = sum(1 for c in sandbox.state["calls"] if c["created_at"][:10] >= recent)
    assert abs(stats["calls_last_30_days"] - in_window) <= in_window * 0.05 + 5


async def test_number_stats_agree_with_state(sandbox: Sandbox, connect: Connect) -> None:
    target = max(numbers(sandbox), key=lambda n: n["total_calls"])
    start = since(14)
    calls = [
        c for c in sandbox.state["calls"] if c["number_id"] == target["id"] and c["created_at"][:10] >= start
    ]
    async with connect() as client:
        overall = await call(client, "get_number_stats", number_id=target["id"])
        window = await call(client, "get_number_stats", number_id=target["id"], since=start)
        error = await call_error(client, "get_number_stats", number_id="not-a-uuid")
    assert overall["number_id"] == target["id"]
    assert overall["total_calls"] == target["total_calls"]
    series = overall.get("by_day") or overall["by_week"]  # months of days are folded into weeks
    assert sum(bucket["calls"] for bucket in series) == target["total_calls"]
    assert window["total_calls"] == len(calls)
    assert window["voicemails"] == sum(c["status"] == "voicemail" for c in calls)
    assert sum(day["calls"] for day in window["by_day"]) == len(calls)
    assert "number_id" in error and "Nothing was sent" in error


# --- export -----------------------------------------------------------------------------------------


async def test_export_links_a_csv_of_every_number_and_shows_its_first_rows(
    sandbox: Sandbox, connect: Connect
) -> None:
    async with connect() as client:
        result = await client.call_tool("export_numbers_csv", {})
        assert not result.is_error
        (link,) = [c for c in result.content if c.type == "resource_link"]
        assert link.mime_type == "text/csv"
        (contents,) = (await client.read_resource(str(link.uri))).contents
    rows = list(csv.DictReader(io.StringIO(contents.text)))
    assert sorted((r["id"], r["phone_number"], r["name"]) for r in rows) == sorted(
        (n["id"], n["phone_number"], n["name"]) for n in numbers(sandbox)
    )
    by_id = {n["id"]: n for n in numbers(sandbox)}
    assert all(int(r["total_calls"]) == by_id[r["id"]]["total_calls"] for r in rows)
    structured = result.structured_content
    assert structured["rows"] == len(numbers(sandbox)) and structured["resource_uri"] == str(link.uri)
    assert structured["summary"]["by_status"] == dict(Counter(n["status"] for n in numbers(sandbox)))
    first = structured["first_rows"]
    assert first and [(r["id"], r["total_calls"]) for r in first] == [
        (r["id"], int(r["total_calls"])) for r in rows[: len(first)]
    ]


# --- buying, changing and releasing -----------------------------------------------------------------


async def test_search_available_numbers(sandbox: Sandbox, connect: Connect) -> None:
    owned = {n["phone_number"] for n in numbers(sandbox)}
    async with connect("manager") as client:
        found = (await call(client, "search_available_numbers", area_code="813", limit=5))["numbers"]
        error = await call_error(client, "search_available_numbers", area_code="81")
    assert 0 < len(found) <= 5
    assert all(n["phone_number"].startswith("+1813") for n in found)
    assert all(n["monthly_cost_cents"] > 0 for n in found)
    assert not owned & {n["phone_number"] for n in found}
    assert "area_code" in error
    assert len(numbers(sandbox)) == len({n["id"] for n in numbers(sandbox)})


async def test_purchase_needs_confirmation_then_buys_exactly_once(sandbox: Sandbox, connect: Connect) -> None:
    before = len(numbers(sandbox))
    async with connect("manager") as client:
        offer = (await call(client, "search_available_numbers", area_code="727", limit=3))["numbers"][0]
        args = {"phone_number": offer["phone_number"], "name": "Spring Mailer"}
        first = await call(client, "purchase_number", **args)
        assert first["status"] == "needs_confirmation"
        assert first["preview"]["monthly_cost_cents"] == offer["monthly_cost_cents"]
        assert offer["phone_number"] in first["preview"]["action"]
        assert len(numbers(sandbox)) == before
        assert not [r for r in writes(sandbox) if r.path.endswith("/numbers/purchase")]

        done = await call(client, "purchase_number", **args, confirmation_token=first["confirmation_token"])
        assert done["status"] == "done"
        assert done["result"]["phone_number"] == offer["phone_number"]
        again = await call_error(
            client, "purchase_number", **args, confirmation_token=first["confirmation_token"]
        )
        assert "not valid" in again
        listed = await call(client, "list_numbers", contains=offer["phone_number"][-7:])
    bought = [n for n in numbers(sandbox) if n["phone_number"] == offer["phone_number"]]
    assert len(bought) == 1 and bought[0]["name"] == "Spring Mailer"
    assert len(numbers(sandbox)) == before + 1
    assert len([r for r in writes(sandbox) if r.path.endswith("/numbers/purchase")]) == 1
    assert [item["id"] for item in listed["items"]] == [bought[0]["id"]]


async def test_purchase_token_cannot_confirm_other_arguments(sandbox: Sandbox, connect: Connect) -> None:
    before = len(numbers(sandbox))
    async with connect("manager") as client:
        offers = (await call(client, "search_available_numbers", area_code="813", limit=2))["numbers"]
        first = await call(client, "purchase_number", phone_number=offers[0]["phone_number"])
        error = await call_error(
            client,
            "purchase_number",
            phone_number=offers[1]["phone_number"],
            confirmation_token=first["confirmation_token"],
        )
    assert "other arguments" in error
    assert len(numbers(sandbox)) == before


async def test_update_number_renames_reroutes_and_pauses(sandbox: Sandbox, connect: Connect) -> None:
    target = next(n for n in numbers(sandbox) if n["status"] == "active")
    flow = next(f for f in sandbox.state["call_flows"] if f["id"] != target["call_flow_id"])
    async with connect("manager") as client:
        renamed = await confirmed(client, "update_number", number_id=target["id"], name="Truck Wrap")
        assert renamed["name"] == "Truck Wrap" == target["name"]
        rerouted = await confirmed(client, "update_number", number_id=target["id"], call_flow_id=flow["id"])
        assert rerouted["call_flow_id"] == flow["id"] == target["call_flow_id"]
        assert rerouted["call_flow_name"] == flow["name"]
        paused = await confirmed(client, "update_number", number_id=target["id"], status="paused")
        assert paused["status"] == "paused" == target["status"]
        sent = len(sandbox.requests)
        error = await call_error(client, "update_number", number_id=target["id"])
        assert "at least one of" in error and len(sandbox.requests) == sent
        assert "status" in await call_error(client, "update_number", number_id=target["id"], status="gone")
        assert len(sandbox.requests) == sent
    assert target["name"] == "Truck Wrap"


async def test_release_previews_recent_calls_then_releases(sandbox: Sandbox, connect: Connect) -> None:
    target = max(numbers(sandbox), key=lambda n: n["total_calls"])
    start = since(30)
    recent = sum(
        1 for c in sandbox.state["calls"] if c["number_id"] == target["id"] and c["created_at"][:10] >= start
    )
    async with connect("manager") as client:
        first = await call(client, "release_number", number_id=target["id"])
        assert first["status"] == "needs_confirmation"
        preview = first["preview"]
        assert preview["irreversible"] is True
        assert preview["details"]["calls_last_30_days"] == recent
        assert target["phone_number"] in preview["action"]
        assert target in numbers(sandbox)
        assert not [r for r in writes(sandbox) if r.method == "DELETE"]

        done = await call(
            client, "release_number", number_id=target["id"], confirmation_token=first["confirmation_token"]
        )
        assert done["status"] == "done" and done["result"]["released"] is True
        assert "No number matches" in await call_error(client, "get_number", number=target["id"])
    assert target["id"] not in {n["id"] for n in numbers(sandbox)}
    assert len([r for r in writes(sandbox) if r.method == "DELETE"]) == 1


async def test_release_of_unknown_number_sends_no_delete(sandbox: Sandbox, connect: Connect) -> None:
    async with connect("manager") as client:
        error = await call_error(client, "release_number", number_id="00000000-0000-4000-8000-000000000000")
    assert "No number matches" in error
    assert not writes(sandbox)


# --- roles ------------------------------------------------------------------------------------------


async def test_viewer_cannot_see_or_call_manager_tools(sandbox: Sandbox, connect: Connect) -> None:
    target = numbers(sandbox)[0]
    async with connect("viewer") as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"list_numbers", "get_number", "export_numbers_csv"} <= names
        assert not MANAGER_TOOLS & names
        for tool, args in (
            ("search_available_numbers", {"area_code": "813"}),
            ("purchase_number", {"phone_number": "+18135550100"}),
            ("update_number", {"number_id": target["id"], "name": "Hijacked"}),
            ("release_number", {"number_id": target["id"]}),
        ):
            error = await call_error(client, tool, **args)
            assert "needs the manager role" in error and "Nothing was sent" in error
    assert not sandbox.requests
    assert target["name"] != "Hijacked"


async def test_annotations_follow_the_contract(connect: Connect) -> None:
    async with connect("manager") as client:
        tools = {
            t.name: t
            for t in (await client.list_tools()).tools
            if t.name in MANAGER_TOOLS or "number" in t.name
        }
    release, purchase, update = tools["release_number"], tools["purchase_number"], tools["update_number"]
    assert release.annotations.destructive_hint is True
    assert purchase.annotations.destructive_hint is False and purchase.annotations.idempotent_hint is False
    assert update.annotations.read_only_hint is False and update.annotations.destructive_hint is False
    assert tools["list_numbers"].annotations.read_only_hint is True
    assert all(t.annotations.open_world_hint is False for t in tools.values())
    assert "confirmation_token" in release.input_schema["properties"]
