"""A state store that counts the steps asked of it, and the time spent in them: what a guarded write
costs the store, counted by the tests and timed by the benchmark (each step is one SQLite transaction
or one Redis round trip)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Mapping, Sequence
from typing import TypeVar

from cs_mcp.state import Cap, Entry, Slots, Store, Taken

T = TypeVar("T")


class CountingStore:
    """Notes the name of every operation it is asked for, and the time it takes, then passes it on."""

    def __init__(self, store: Store) -> None:
        self.store, self.where, self.durable = store, store.where, store.durable
        self.calls: list[str] = []
        self.seconds = 0.0  # spent inside the steps since the last `counted()`

    async def _step(self, name: str, step: Awaitable[T]) -> T:
        self.calls.append(name)
        started = time.perf_counter()
        try:
            return await step
        finally:
            self.seconds += time.perf_counter() - started

    async def put(self, key: str, value: str, ttl: float, *, linger: float = 0.0) -> None:
        await self._step("put", self.store.put(key, value, ttl, linger=linger))

    async def put_all(self, entries: Mapping[str, Entry], *, if_room: Cap | None = None) -> Slots:
        return await self._step("put_all", self.store.put_all(entries, if_room=if_room))

    async def get(self, key: str) -> str | None:
        return await self._step("get", self.store.get(key))

    async def take(self, key: str) -> Taken | None:
        return await self._step("take", self.store.take(key))

    async def delete(self, key: str) -> None:
        await self._step("delete", self.store.delete(key))

    async def reserve(self, cap: Cap, ids: Sequence[str]) -> Slots:
        return await self._step("reserve", self.store.reserve(cap, ids))

    async def release(self, key: str, ids: Sequence[str]) -> None:
        await self._step("release", self.store.release(key, ids))

    def secret(self, name: str) -> bytes:
        self.calls.append("secret")
        return self.store.secret(name)

    def counted(self) -> list[str]:
        """The steps asked since the last look; their time is forgotten with them."""
        calls, self.calls, self.seconds = self.calls, [], 0.0
        return calls
