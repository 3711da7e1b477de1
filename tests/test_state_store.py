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
from cs_mcp.state import SQLiteStore, Store, StoreUnavailable, open_store
from cs_mcp.state.redis_store import RedisStore
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
        slots = await store.reserve("cap:k:sms", now=1000.0, window=3600, limit=3, ids=[f"id{i}"])
        if slots.granted:
            granted.append(slots.ids)
        else:
            assert slots.used == (1000.0, 1000.0, 1000.0)

    async with anyio.create_task_group() as group:
        for i in range(10):
            group.start_soon(reserve, i)
    assert len(granted) == 3
    await store.release("cap:k:sms", granted[0])
    assert await store.used("cap:k:sms", now=1000.0, window=3600) == [1000.0, 1000.0]
    assert await store.used("cap:k:sms", now=1000.0 + 3600, window=3600) == []  # the window moved on
    later = await store.reserve("cap:k:sms", now=4600.0, window=3600, limit=1, ids=["x"])
    assert later.granted


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
