"""reassign_numbers: one preview of every move, confirmed as the routing-change rule says, one PATCH per
number, and an exact account of which numbers moved when it stops part-way; every way around the
confirmation is tried."""

from __future__ import annotations

from typing import Any

import pytest

from cs_mcp.sandbox import Sandbox
from tests.conftest import call, call_error, confirmed

pytestmark = pytest.mark.anyio


def flow_id(sandbox: Sandbox, name: str) -> str:
    return str(next(f["id"] for f in sandbox.state["call_flows"] if f["name"] == name))


def busy_numbers(sandbox: Sandbox, flow: str, count: int) -> list[dict[str, Any]]:
    """Numbers on `flow` that have taken calls (moving them needs confirmation)."""
    numbers = [
        n
        for n in sandbox.state["numbers"]
        if n["call_flow_id"] == flow_id(sandbox, flow) and n["total_calls"]
    ]
    assert len(numbers) >= count
    return numbers[:count]


def flows_of(sandbox: Sandbox, numbers: list[dict[str, Any]]) -> list[str | None]:
    current = {n["id"]: n["call_flow_id"] for n in sandbox.state["numbers"]}
    return [current[n["id"]] for n in numbers]


def moving(ids: list[str], target: str, token: str | None = None) -> dict[str, Any]:
    """reassign_numbers' arguments, with the confirmation token when there is one."""
    return {"number_ids": ids, "call_flow_id": target} | ({"confirmation_token": token} if token else {})


def patches(sandbox: Sandbox) -> int:
    return sandbox.writes.matching("PATCH", "/numbers/*")


async def test_one_preview_lists_every_move_then_one_patch_per_number(connect: Any, sandbox: Sandbox) -> None:
    main, lead = busy_numbers(sandbox, "Main Sales Flow", 2), busy_numbers(sandbox, "Lead Qualifier", 1)
    numbers, target = [*main, *lead], flow_id(sandbox, "After Hours Emergency")
    ids = [n["id"] for n in numbers]
    async with connect("manager") as client:
        first = await call(client, "reassign_numbers", **moving(ids, target))
        assert first["status"] == "needs_confirmation" and patches(sandbox) == 0
        preview = first["preview"]
        assert preview["action"].startswith("Route 3 numbers to After Hours Emergency")
        assert "outside the business" in preview["action"] and "calls move" in preview["action"]
        for number in numbers:
            line = preview["details"]["from Main Sales Flow" if number in main else "from Lead Qualifier"]
            assert f"{number['phone_number']} ({number['name']}) {number['total_calls']} calls" in line
        assert "Calls ring now: +18135550100" in preview["details"]["from Main Sales Flow"]
        assert preview["details"]["calls_would_ring"] == "+18135550199, +17275550177, +18135550166"
        done = await call(client, "reassign_numbers", **moving(ids, target, first["confirmation_token"]))
    assert done["status"] == "done"
    assert {m["id"] for m in done["result"]["moved"]} == set(ids)
    assert flows_of(sandbox, numbers) == [target] * 3 and patches(sandbox) == 3


async def test_a_token_confirms_only_the_numbers_and_flow_it_was_given_for(
    connect: Any, sandbox: Sandbox
) -> None:
    numbers = busy_numbers(sandbox, "Main Sales Flow", 3)
    ids, target = [n["id"] for n in numbers], flow_id(sandbox, "After Hours Emergency")
    before = flows_of(sandbox, numbers)
    async with connect("manager") as client:
        for changed in (
            {"number_ids": ids[:2], "call_flow_id": target},
            {"number_ids": ids, "call_flow_id": flow_id(sandbox, "Voicemail Only")},
        ):
            token = (await call(client, "reassign_numbers", **moving(ids, target)))["confirmation_token"]
            error = await call_error(client, "reassign_numbers", **changed, confirmation_token=token)
            assert "issued for other arguments" in error
            # The misused token is spent: not even the arguments it was issued for can use it now.
            assert "spent" in await call_error(client, "reassign_numbers", **moving(ids, target, token))
        # The same numbers in another order, or named twice, are the same change.
        token = (await call(client, "reassign_numbers", **moving(ids, target)))["confirmation_token"]
        assert flows_of(sandbox, numbers) == before and patches(sandbox) == 0
        reordered = [ids[2], ids[0], ids[1], ids[0]]
        done = await call(client, "reassign_numbers", **moving(reordered, target, token))
    assert done["status"] == "done" and flows_of(sandbox, numbers) == [target] * 3


async def test_a_number_moved_meanwhile_asks_again_and_moves_nothing(connect: Any, sandbox: Sandbox) -> None:
    numbers = busy_numbers(sandbox, "Main Sales Flow", 2)
    ids, target = [n["id"] for n in numbers], flow_id(sandbox, "After Hours Emergency")
    async with connect("manager") as client:
        first = await call(client, "reassign_numbers", **moving(ids, target))
        numbers[1]["call_flow_id"] = flow_id(sandbox, "Lead Qualifier")  # someone else moves it meanwhile
        again = await call(client, "reassign_numbers", **moving(ids, target, first["confirmation_token"]))
    assert again["status"] == "needs_confirmation" and "target changed" in again["message"]
    assert "from Lead Qualifier" in again["preview"]["details"] and patches(sandbox) == 0


async def test_no_confirmation_when_no_call_goes_anywhere_new(connect: Any, sandbox: Sandbox) -> None:
    quiet = next(
        n
        for n in sandbox.state["numbers"]
        if n["call_flow_id"] == flow_id(sandbox, "Main Sales Flow") and not n["total_calls"]
    )
    target = flow_id(sandbox, "Google Ads - Plumbing")  # rings the office, as Main Sales Flow does
    async with connect("manager") as client:
        done = await call(client, "reassign_numbers", number_ids=[quiet["id"]], call_flow_id=target)
    assert done["status"] == "done" and quiet["call_flow_id"] == target


async def test_numbers_already_on_the_flow_are_left_alone_and_unknown_ones_refused(
    connect: Any, sandbox: Sandbox
) -> None:
    target = flow_id(sandbox, "Main Sales Flow")
    there = busy_numbers(sandbox, "Main Sales Flow", 1)[0]
    async with connect("manager") as client:
        done = await confirmed(client, "reassign_numbers", number_ids=[there["id"]], call_flow_id=target)
        assert done["moved"] == [] and done["already_there"] == [there["phone_number"]]
        stranger = "00000000-0000-4000-8000-000000000000"
        error = await call_error(
            client, "reassign_numbers", number_ids=[there["id"], stranger], call_flow_id=target
        )
    assert f"Not numbers of this business: {stranger}" in error and patches(sandbox) == 0


async def test_a_refusal_part_way_says_exactly_which_numbers_moved(connect: Any, sandbox: Sandbox) -> None:
    numbers = sorted(
        busy_numbers(sandbox, "Main Sales Flow", 3), key=lambda n: n["id"]
    )  # the order they move in
    ids, target = [n["id"] for n in numbers], flow_id(sandbox, "After Hours Emergency")
    original = numbers[1]["call_flow_id"]
    sandbox.faults.add("status", status=422, method="PATCH", path=f"/numbers/{ids[1]}")
    async with connect("manager") as client:
        token = (await call(client, "reassign_numbers", **moving(ids, target)))["confirmation_token"]
        error = await call_error(client, "reassign_numbers", **moving(ids, target, token))
    first, second, third = (f"{n['phone_number']} ({n['name']})" for n in numbers)
    assert "stopped part-way" in error
    assert f"Moved to After Hours Emergency (1): {first}." in error
    assert f"{second}: not moved" in error and f"Not attempted, still on their flows: {third}." in error
    assert flows_of(sandbox, numbers) == [target, original, original] and patches(sandbox) == 1


async def test_a_lost_answer_is_checked_and_counted_as_moved_when_it_took_effect(
    connect: Any, sandbox: Sandbox
) -> None:
    numbers = busy_numbers(sandbox, "Main Sales Flow", 2)
    ids, target = [n["id"] for n in numbers], flow_id(sandbox, "After Hours Emergency")
    sandbox.faults.add("status", status=500, when="after", method="PATCH", times=1)
    async with connect("manager") as client:
        done = await confirmed(client, "reassign_numbers", **moving(ids, target))
    assert {m["id"] for m in done["moved"]} == set(ids) and flows_of(sandbox, numbers) == [target] * 2


async def test_a_lost_answer_that_did_not_take_effect_is_reported_unknown_and_stops(
    connect: Any, sandbox: Sandbox
) -> None:
    numbers = sorted(busy_numbers(sandbox, "Main Sales Flow", 2), key=lambda n: n["id"])
    ids, target = [n["id"] for n in numbers], flow_id(sandbox, "After Hours Emergency")
    original = numbers[0]["call_flow_id"]
    sandbox.faults.add("status", status=500, method="PATCH", times=1)  # refused before acting, but a 5xx
    async with connect("manager") as client:
        token = (await call(client, "reassign_numbers", **moving(ids, target)))["confirmation_token"]
        error = await call_error(client, "reassign_numbers", **moving(ids, target, token))
    assert "No number was moved." in error and "OUTCOME UNKNOWN" in error and "get_number" in error
    assert f"Not attempted, still on their flows: {numbers[1]['phone_number']}" in error
    assert flows_of(sandbox, numbers) == [original, original]
