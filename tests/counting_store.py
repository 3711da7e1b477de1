"""A state store that counts the steps asked of it: what a guarded write costs the store, counted
by the tests and the benchmark alike (each step is one SQLite transaction or one Redis round trip)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cs_mcp.state import Cap, Entry, Slots, Store, Taken


class CountingStore:
    """A store that notes the name of every operation it is asked for, then passes it on."""

    def __init__(self, store: Store) -> None:
        self.store, self.where, self.durable = store, store.where, store.durable
        self.calls: list[str] = []

    async def put(self, key: str, value: str, ttl: float, *, linger: float = 0.0) -> None:
        self.calls.append("put")
        await self.store.put(key, value, ttl, linger=linger)

    async def put_all(self, entries: Mapping[str, Entry], *, if_room: Cap | None = None) -> Slots:
        self.calls.append("put_all")
        return await self.store.put_all(entries, if_room=if_room)

    async def get(self, key: str) -> str | None:
        self.calls.append("get")
        return await self.store.get(key)

    async def take(self, key: str) -> Taken | None:
        self.calls.append("take")
        return await self.store.take(key)

    async def delete(self, key: str) -> None:
        self.calls.append("delete")
        await self.store.delete(key)

    async def reserve(self, key: str, *, now: float, window: float, limit: int, ids: Sequence[str]) -> Slots:
        self.calls.append("reserve")
        return await self.store.reserve(key, now=now, window=window, limit=limit, ids=ids)

    async def release(self, key: str, ids: Sequence[str]) -> None:
        self.calls.append("release")
        await self.store.release(key, ids)

    def secret(self, name: str) -> bytes:
        self.calls.append("secret")
        return self.store.secret(name)

    def counted(self) -> list[str]:
        calls, self.calls = self.calls, []
        return calls
