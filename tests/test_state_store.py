"""The state stores themselves, SQLite (in memory and on file) and a real redis-server, held to one
contract: an entry is taken by exactly one of any number of racing callers, lifetimes end on the
store's side, a cap's check and count are one step, and an unreachable store says so."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from cs_mcp.errors import ConfigError
from cs_mcp.state import Cap, Entry, Slots, SQLiteStore, Store, StoreUnavailable, open_store
from cs_mcp.state.redis_store import RedisStore
from cs_mcp.state.sqlite_store import FORGOTTEN
from tests.fake_time import FakeTime
from tests.fleet import free_port, running_redis

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["memory", "file", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "redis":
        with running_redis(tmp_path) as server:
            yield RedisStore(server.url)
    else:
        yield open_store(":memory:" if request.param == "memory" else str(tmp_path / "state.sqlite3"))


async def test_of_many_racing_takers_exactly_one_gets_the_entry(store: Store) -> None:
    await store.put("token:a", "pending", 300)
    taken: list[str] = []

    async def take() -> None:
        found = await store.take("token:a")
        if found is not None:
            taken.append(found.value)

    async with anyio.create_task_group() as group:
        for _ in range(20):
            group.start_soon(take)
    assert taken == ["pending"] and await store.get("token:a") is None


async def test_an_entry_past_its_lifetime_is_not_read_and_is_taken_as_expired(store: Store) -> None:
    await store.put("token:old", "pending", 0, linger=300)  # its lifetime over at once, on the store's clock
    assert await store.get("token:old") is None
    taken = await store.take("token:old")
    assert taken is not None and taken.expired and await store.take("token:old") is None


async def test_a_cap_counts_at_most_its_limit_however_many_reserve_at_once(store: Store) -> None:
    granted: list[tuple[str, ...]] = []

    async def reserve(i: int) -> None:
        slots = await store.reserve(Cap("cap:k:sms", 1000.0, 3600, 3), [f"id{i}"])
        if slots.granted:
            granted.append(slots.ids)
        else:
            assert slots.used == (1000.0, 1000.0, 1000.0)

    async with anyio.create_task_group() as group:
        for i in range(10):
            group.start_soon(reserve, i)
    assert len(granted) == 3
    await store.release("cap:k:sms", granted[0])
    after_release = await store.reserve(Cap("cap:k:sms", 1000.0, 3600, 2), ["y"])
    assert after_release == Slots(False, used=(1000.0, 1000.0))
    later = await store.reserve(Cap("cap:k:sms", 4600.0, 3600, 1), ["x"])
    assert later.granted  # the window moved on


async def test_entries_kept_under_a_cap_are_kept_all_or_none_and_count_no_slot(store: Store) -> None:
    cap = Cap("cap:k:sms", now=1000.0, window=3600, limit=2)
    preview = {"token:a": Entry("pending", 300, linger=300), "latest:a": Entry("a", 300)}
    for _ in range(5):  # previews check the cap; they never use it up
        assert (await store.put_all(preview, if_room=cap)).granted
    assert await store.get("token:a") == "pending" and await store.get("latest:a") == "a"
    for slot in ("s1", "s2"):
        assert (await store.reserve(Cap(cap.key, 1000.0, 3600, 2), [slot])).granted
    refused = await store.put_all(
        {"token:b": Entry("pending", 300), "latest:b": Entry("b", 300)}, if_room=cap
    )
    assert refused == Slots(False, used=(1000.0, 1000.0))
    assert await store.get("token:b") is None and await store.get("latest:b") is None  # none of them kept
    assert (await store.put_all(preview, if_room=Cap(cap.key, now=4600.0, window=3600, limit=2))).granted


@pytest.fixture(params=["file", "redis"])
def two_processes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """Two handles on one shared store, each with its own connection, as two processes or replicas have."""
    if request.param == "redis":
        with running_redis(tmp_path) as server:
            yield RedisStore(server.url), RedisStore(server.url)
    else:
        yield SQLiteStore(tmp_path / "state.sqlite3"), SQLiteStore(tmp_path / "state.sqlite3")


def test_two_processes_reserving_at_once_never_exceed_a_cap_nor_keep_a_preview_past_it(
    two_processes: tuple[Store, Store],
) -> None:
    """Each handle on its own thread and event loop: reservations and previews' checks interleave in
    the store as two processes' would, and the count still never passes the limit."""
    granted: list[str] = []
    previews: list[bool] = []

    def race(store: Store, side: str) -> None:
        async def run() -> None:
            for i in range(15):
                cap = Cap("cap:k:sms", now=1000.0, window=3600, limit=10)
                slots = await store.reserve(cap, [f"{side}{i}"])
                granted.extend(slots.ids)
                previews.append(
                    (await store.put_all({f"token:{side}{i}": Entry("p", 300)}, if_room=cap)).granted
                )

        anyio.run(run)

    threads = [
        threading.Thread(target=race, args=(s, side)) for s, side in zip(two_processes, "ab", strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 10 and previews[-1] is False
    late = anyio.run(lambda: two_processes[0].reserve(Cap("cap:k:sms", 1000.0, 3600, 10), ["x"]))
    assert late == Slots(False, used=(1000.0,) * 10)


async def test_a_secret_is_made_once_and_shared(store: Store) -> None:
    assert store.secret("request-state-key") == store.secret("request-state-key")
    assert len(store.secret("request-state-key")) == 32 and store.secret("other") != store.secret(
        "request-state-key"
    )


def test_sqlite_lifetimes_survive_neither_a_clock_stepped_back_nor_a_reboot(tmp_path: Path) -> None:
    wall, monotonic = FakeTime(1_800_000_000.0), FakeTime(5_000.0)
    store = SQLiteStore(tmp_path / "state.sqlite3", wall=wall.clock, monotonic=monotonic.clock)

    async def check() -> None:
        await store.put("token:a", "x", 300, linger=300)
        wall.now -= 3600  # stepped back; the monotonic clock runs on
        monotonic.now += 301
        assert await store.get("token:a") is None
        await store.put("token:b", "x", 300, linger=300)
        monotonic.now = 10.0  # a reboot restarts the monotonic clock; the wall clock has moved on
        wall.now += 3600 + 301
        assert await store.get("token:b") is None

    anyio.run(check)


def test_every_put_sweeps_forgotten_entries_by_index_not_through_the_kept_values(tmp_path: Path) -> None:
    """Kept exports are large; a sweep that scanned the table would read them all on each preview."""
    path = tmp_path / "state.sqlite3"
    SQLiteStore(path)
    plan = sqlite3.connect(path).execute(
        f"EXPLAIN QUERY PLAN DELETE FROM entries WHERE {FORGOTTEN}", (0.0, 0.0)
    )
    steps = [row[3] for row in plan]
    assert steps and not any(step.startswith("SCAN") for step in steps), steps


def test_two_sqlite_stores_on_one_file_share_entries_and_race_fairly(tmp_path: Path) -> None:
    """Two connections, as two processes have: one takes the entry, on whichever thread it races."""
    path = tmp_path / "state.sqlite3"
    first, second = SQLiteStore(path), SQLiteStore(path)
    anyio.run(first.put, "token:a", "pending", 300)
    taken: list[object] = []
    threads = [
        threading.Thread(target=lambda s=s: taken.append(anyio.run(s.take, "token:a")))
        for s in (first, second)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(str, taken)) == ["None", "Taken(value='pending', expired=False)"]
    assert first.secret("k") == second.secret("k")


async def test_an_unreachable_redis_says_which_and_why_without_credentials() -> None:
    store = RedisStore(f"redis://:hunter2secret@127.0.0.1:{free_port()}/0")
    with pytest.raises(StoreUnavailable) as refused:
        await store.take("token:a")
    assert "Redis 127.0.0.1" in str(refused.value) and "hunter2secret" not in str(refused.value)
    cap = Cap("cap:k:sms", now=1000.0, window=3600, limit=10)
    for step in (
        lambda: store.put_all({"token:a": Entry("pending", 300)}, if_room=cap),  # a preview's one step
        lambda: store.put_all({"a": Entry("1", 60), "b": Entry("2", 60)}),
        lambda: store.reserve(cap, ["x"]),
    ):
        with pytest.raises(StoreUnavailable) as refused:
            await step()
        assert "Redis 127.0.0.1" in str(refused.value) and "hunter2secret" not in str(refused.value)
    with pytest.raises(StoreUnavailable):
        store.secret("request-state-key")


def test_a_state_file_that_cannot_be_opened_stops_the_start(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot open the state store"):
        open_store(str(blocker / "state.sqlite3"))


def test_the_state_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "private" / "state.sqlite3"
    SQLiteStore(path)
    assert path.stat().st_mode & 0o077 == 0 and path.parent.stat().st_mode & 0o077 == 0
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)
