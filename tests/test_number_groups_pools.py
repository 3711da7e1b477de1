"""The number_groups and number_pools toolsets through a real MCP client against the sandbox."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest

from cs_mcp.sandbox import Sandbox
from tests.conftest import Connect, call, call_error

pytestmark = pytest.mark.anyio

MANAGER_TOOLS = {
    "create_number_group",
    "update_number_group",
    "delete_number_group",
    "add_number_group_members",
    "remove_number_group_member",
    "create_number_pool",
    "add_number_pool_numbers",
    "remove_number_pool_number",
}
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def groups(sandbox: Sandbox) -> list[dict[str, Any]]:
    return sandbox.state["number_groups"]


def pools(sandbox: Sandbox) -> list[dict[str, Any]]:
    return sandbox.state["number_pools"]


def numbers_by_id(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in sandbox.state["numbers"]}


def biggest(items: list[dict[str, Any]]) -> dict[str, Any]:
    return max(items, key=lambda item: len(item["number_ids"]))


def writes(sandbox: Sandbox) -> list[Any]:
    return [r for r in sandbox.requests if r.method != "GET"]


def outsiders(sandbox: Sandbox, owner: dict[str, Any], count: int) -> list[str]:
    """Ids of numbers not in `owner`; for a pool, in no pool at all (a number serves one pool)."""
    holders = pools(sandbox) if owner in pools(sandbox) else [owner]
    taken = {i for holder in holders for i in holder["number_ids"]}
    return [n for n in numbers_by_id(sandbox) if n not in taken][-count:]


# --- groups: reading --------------------------------------------------------------------------------


async def test_list_number_groups_matches_state(sandbox: Sandbox, connect: Connect) -> None:
    async with connect() as client:
        page = await call(client, "list_number_groups", limit=100)
        first = groups(sandbox)[0]
        named = await call(client, "list_number_groups", contains=first["name"][:5].lower())
    assert {g["id"]: g["number_count"] for g in page["items"]} == {
        g["id"]: len(g["number_ids"]) for g in groups(sandbox)
    }
    assert page["total"] == len(groups(sandbox))
    assert page["summary"]["number_count"]["sum"] == sum(len(g["number_ids"]) for g in groups(sandbox))
    assert first["id"] in {g["id"] for g in named["items"]}
    assert all(first["name"][:5].lower() in g["name"].lower() for g in named["items"])


async def test_members_page_and_summary_cover_all_members(sandbox: Sandbox, connect: Connect) -> None:
    group = biggest(groups(sandbox))
    members = [numbers_by_id(sandbox)[i] for i in group["number_ids"]]
    assert len(members) > 3
    async with connect() as client:
        pages = [await call(client, "list_number_group_members", group_id=group["id"], limit=2)]
        while pages[-1].get("next_cursor"):
            pages.append(
                await call(
                    client,
                    "list_number_group_members",
                    group_id=group["id"],
                    limit=2,
                    cursor=pages[-1]["next_cursor"],
                )
            )
        paused = await call(client, "list_number_group_members", group_id=group["id"], status="paused")
    ids = [item["id"] for page in pages for item in page["items"]]
    assert len(ids) == len(set(ids)) and set(ids) == set(group["number_ids"])
    summary = pages[0]["summary"]
    assert pages[0]["total"] == len(members)
    assert summary["by_status"] == dict(Counter(m["status"] for m in members))
    assert summary["total_calls"]["sum"] == sum(m["total_calls"] for m in members)
    assert sum(summary["by_call_flow_name"].values()) == len(members)
    assert {item["id"] for item in paused["items"]} == {m["id"] for m in members if m["status"] == "paused"}


async def test_members_of_an_unknown_group_is_a_clear_error(connect: Connect) -> None:
    async with connect() as client:
        error = await call_error(client, "list_number_group_members", group_id=UNKNOWN_ID)
    assert "404" in error or "No number group" in error


# --- groups: changing -------------------------------------------------------------------------------


async def test_create_and_rename_a_group(sandbox: Sandbox, connect: Connect) -> None:
    chosen = list(numbers_by_id(sandbox))[:3]
    async with connect("manager") as client:
        created = await call(client, "create_number_group", name="Yard Signs", number_ids=chosen)
        empty = await call(client, "create_number_group", name="Later")
        renamed = await call(client, "update_number_group", group_id=created["id"], name="Yard Signs 2026")
    stored = {g["id"]: g for g in groups(sandbox)}
    assert stored[created["id"]]["number_ids"] == chosen and created["number_count"] == 3
    assert stored[empty["id"]]["number_ids"] == []
    assert renamed["name"] == "Yard Signs 2026" == stored[created["id"]]["name"]


async def test_delete_group_previews_then_deletes_keeping_numbers(sandbox: Sandbox, connect: Connect) -> None:
    group = biggest(groups(sandbox))
    members = list(group["number_ids"])
    async with connect("manager") as client:
        first = await call(client, "delete_number_group", group_id=group["id"])
        assert first["status"] == "needs_confirmation"
        action = first["preview"]["action"]
        assert group["name"] in action and f"{len(members)} memberships" in action
        assert "numbers themselves are kept" in action
        assert first["preview"]["irreversible"] is True
        assert group in groups(sandbox) and not writes(sandbox)
        done = await call(
            client,
            "delete_number_group",
            group_id=group["id"],
            confirmation_token=first["confirmation_token"],
        )
        assert done["status"] == "done"
        missing = await call_error(client, "delete_number_group", group_id=group["id"])
    assert group["id"] not in {g["id"] for g in groups(sandbox)}
    assert set(members) <= set(numbers_by_id(sandbox))
    assert "No number group" in missing
    assert len(writes(sandbox)) == 1


async def test_add_members_reports_added_present_and_unknown(sandbox: Sandbox, connect: Connect) -> None:
    group = groups(sandbox)[0]
    present = group["number_ids"][0]
    new = outsiders(sandbox, group, 2)
    before = list(group["number_ids"])
    async with connect("manager") as client:
        change = await call(
            client,
            "add_number_group_members",
            group_id=group["id"],
            number_ids=[*new, present, UNKNOWN_ID, new[0].upper()],
        )
        posts = len(writes(sandbox))
        repeat = await call(client, "add_number_group_members", group_id=group["id"], number_ids=new)
    assert change == {
        "added": new,
        "already_present": [present],
        "unknown": [UNKNOWN_ID],
        "member_count": len(before) + 2,
    }
    assert group["number_ids"] == before + new
    assert posts == 1 and len(writes(sandbox)) == 1  # the repeat found nothing to add and sent nothing
    assert repeat["added"] == [] and repeat["already_present"] == new


@pytest.mark.parametrize(
    ("number_ids", "expected"),
    [
        ([], "number_ids"),
        ([str(uuid.UUID(int=i, version=4)) for i in range(101)], "number_ids"),
        (["+18135551234"], "number_ids.0"),
    ],
    ids=["none", "too_many", "not_uuid"],
)
async def test_add_members_validates_ids_before_sending(
    sandbox: Sandbox, connect: Connect, number_ids: list[str], expected: str
) -> None:
    async with connect("manager") as client:
        error = await call_error(
            client, "add_number_group_members", group_id=groups(sandbox)[0]["id"], number_ids=number_ids
        )
    assert f"`{expected}`" in error and "Nothing was sent" in error
    assert not sandbox.requests


async def test_remove_member_keeps_the_number(sandbox: Sandbox, connect: Connect) -> None:
    group = groups(sandbox)[0]
    gone = group["number_ids"][0]
    async with connect("manager") as client:
        await call(client, "remove_number_group_member", group_id=group["id"], number_id=gone)
        after = await call(client, "list_number_group_members", group_id=group["id"], limit=100)
    assert gone not in group["number_ids"]
    assert gone in numbers_by_id(sandbox)
    assert gone not in {item["id"] for item in after["items"]}


# --- pools ------------------------------------------------------------------------------------------


async def test_list_and_get_pools_match_state(sandbox: Sandbox, connect: Connect) -> None:
    pool = biggest(pools(sandbox))
    members = [numbers_by_id(sandbox)[i] for i in pool["number_ids"]]
    async with connect() as client:
        page = await call(client, "list_number_pools")
        got = await call(client, "get_number_pool", pool_id=pool["id"])
        missing = await call_error(client, "get_number_pool", pool_id=UNKNOWN_ID)
    assert {p["id"]: p["number_count"] for p in page["items"]} == {
        p["id"]: len(p["number_ids"]) for p in pools(sandbox)
    }
    for key in ("name", "website_url", "call_flow_id", "session_timeout_seconds", "fallback_number"):
        assert got[key] == pool[key], key
    assert [n["id"] for n in got["numbers"]] == pool["number_ids"]
    assert got["summary"]["by_status"] == dict(Counter(m["status"] for m in members))
    assert got["summary"]["total_calls"]["sum"] == sum(m["total_calls"] for m in members)
    assert "404" in missing


async def test_create_pool_then_add_and_remove_numbers(sandbox: Sandbox, connect: Connect) -> None:
    fallback = sandbox.state["numbers"][0]["phone_number"]
    async with connect("manager") as client:
        created = await call(
            client,
            "create_number_pool",
            name="Spring Promo",
            website_url="https://spring.acme-plumbing.example",
            session_timeout_seconds=600,
            fallback_number=fallback,
        )
        pool = next(p for p in pools(sandbox) if p["id"] == created["id"])
        assert pool["number_ids"] == [] and pool["session_timeout_seconds"] == 600
        new = outsiders(sandbox, pool, 3)
        change = await call(
            client, "add_number_pool_numbers", pool_id=pool["id"], number_ids=[*new, UNKNOWN_ID]
        )
        assert change["added"] == new and change["unknown"] == [UNKNOWN_ID] and change["member_count"] == 3
        assert pool["number_ids"] == new
        await call(client, "remove_number_pool_number", pool_id=pool["id"], number_id=new[1])
        got = await call(client, "get_number_pool", pool_id=pool["id"])
        bad = await call_error(client, "create_number_pool", name="x", website_url="acme.example")
    assert pool["number_ids"] == [new[0], new[2]]
    assert [n["id"] for n in got["numbers"]] == [new[0], new[2]]
    assert new[1] in numbers_by_id(sandbox)
    assert "website_url" in bad


# --- roles and annotations --------------------------------------------------------------------------


async def test_viewer_sees_reads_only_and_nothing_reaches_the_api(sandbox: Sandbox, connect: Connect) -> None:
    group = groups(sandbox)[0]
    async with connect("viewer") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {
            "list_number_groups",
            "list_number_group_members",
            "list_number_pools",
            "get_number_pool",
        } <= names
        assert not MANAGER_TOOLS & names
        error = await call_error(client, "delete_number_group", group_id=group["id"])
        error2 = await call_error(
            client, "add_number_group_members", group_id=group["id"], number_ids=[UNKNOWN_ID]
        )
    assert "needs the manager role" in error and "needs the manager role" in error2
    assert not sandbox.requests
    assert group in groups(sandbox)


async def test_annotations(connect: Connect) -> None:
    async with connect("manager") as client:
        tools = {t.name: t.annotations for t in (await client.list_tools()).tools}
    assert tools["delete_number_group"].destructive_hint is True
    for name in MANAGER_TOOLS - {"delete_number_group"}:
        assert tools[name].destructive_hint is False, name
        assert tools[name].read_only_hint is False, name
    for name in ("list_number_groups", "list_number_group_members", "list_number_pools", "get_number_pool"):
        assert tools[name].read_only_hint is True and tools[name].destructive_hint is False
    assert tools["create_number_group"].idempotent_hint is False
    assert tools["add_number_group_members"].idempotent_hint is True


async def test_a_number_in_another_pool_is_refused_clearly(sandbox: Sandbox, connect: Connect) -> None:
    owner, other = sorted(pools(sandbox), key=lambda p: len(p["number_ids"]), reverse=True)[:2]
    taken = owner["number_ids"][0]
    before = list(other["number_ids"])
    async with connect("manager") as client:
        error = await call_error(client, "add_number_pool_numbers", pool_id=other["id"], number_ids=[taken])
    assert "already in the pool" in error and owner["name"] in error
    assert other["number_ids"] == before
