"""The shared store for several replicas: Redis (or Valkey), through the `redis` client's asyncio API.

Each operation is one round trip: one command, one MULTI/EXEC pipeline or one Lua script, which Redis
runs atomically. `take` reads, deletes and reports an entry's remaining lifetime in one step, so of N
replicas racing for one token exactly one gets it; `reserve` prunes the window, counts and adds slots
in one step; `put_all` under a cap counts the window and keeps the entries only if it has room.
Lifetimes are Redis's own key expiry (PX), on Redis's clock. Connections fail fast (2 s), so an
unreachable Redis refuses guarded writes at once rather than hanging them; the client reconnects by
itself when it is back.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redis
import redis.asyncio
from redis.asyncio.client import Pipeline

from cs_mcp.state.base import GRANTED, Cap, Entry, Slots, StoreUnavailable, Taken

T = TypeVar("T")
TIMEOUT_SECONDS = 2.0
PREFIX = "cs-mcp:"

# Values are stored as "<linger ms>|<value>": an entry is past its lifetime once its remaining time is
# within its linger, which Redis's clock decides.
TAKE = """
local stored = redis.call('GET', KEYS[1])
if not stored then return false end
local left = redis.call('PTTL', KEYS[1])
redis.call('DEL', KEYS[1])
local cut = string.find(stored, '|', 1, true)
local linger = tonumber(string.sub(stored, 1, cut - 1))
return {string.sub(stored, cut + 1), left <= linger and 1 or 0}
"""
GET = """
local stored = redis.call('GET', KEYS[1])
if not stored then return false end
local cut = string.find(stored, '|', 1, true)
if redis.call('PTTL', KEYS[1]) <= tonumber(string.sub(stored, 1, cut - 1)) then return false end
return string.sub(stored, cut + 1)
"""
# The moments used in a cap's window since `since`, oldest first: read only when a step is refused
# (a granted one needs the count alone).
USED = """
local function used(key, since)
  local found = redis.call('ZRANGEBYSCORE', key, since, '+inf', 'WITHSCORES')
  local answer = {0}
  for i = 2, #found, 2 do answer[#answer + 1] = found[i] end
  return answer
end
"""
# ARGV: the window's lower bound, its length in ms, limit, now, then the ids to add. {1}, or {0, used...}.
RESERVE = (
    USED
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local wanted = #ARGV - 4
if redis.call('ZCARD', KEYS[1]) + wanted > tonumber(ARGV[3]) then return used(KEYS[1], '-inf') end
for i = 5, #ARGV do redis.call('ZADD', KEYS[1], ARGV[4], ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1}
"""
)
# KEYS: the cap's slots, then the entries'. ARGV: the window's lower bound (exclusive), limit, then
# each entry's stored value and lifetime in ms. {1} with every entry set, or {0, used...} and none.
PUT_IF_ROOM = (
    USED
    + """
local since = '(' .. ARGV[1]
if redis.call('ZCOUNT', KEYS[1], since, '+inf') + 1 > tonumber(ARGV[2]) then return used(KEYS[1], since) end
for i = 2, #KEYS do redis.call('SET', KEYS[i], ARGV[2 * i - 1], 'PX', ARGV[2 * i]) end
return {1}
"""
)


def _stored(entry: Entry) -> tuple[str, int]:
    """The value as kept, "<linger ms>|<value>", and its lifetime in ms (at least one: PX 0 is refused)."""
    return f"{round(entry.linger * 1000)}|{entry.value}", max(1, round((entry.ttl + entry.linger) * 1000))


def _set_all(pipeline: Pipeline, entries: Mapping[str, Entry]) -> Pipeline:
    for key, entry in entries.items():
        stored, lifetime = _stored(entry)
        pipeline.set(PREFIX + key, stored, px=lifetime)
    return pipeline


def _slots(answer: list[Any], ids: tuple[str, ...]) -> Slots:
    """A script's {1} (granted `ids`) or {0, used moments...} as `Slots`."""
    if answer[0] == 1:
        return Slots(True, ids)
    return Slots(False, used=tuple(float(moment) for moment in answer[1:]))


def _where(url: str) -> str:
    """host:port/db (or a socket's path), without the user name or password a URL may carry."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"Redis {parts.path}"
    return f"Redis {parts.hostname}:{parts.port or 6379}{parts.path or '/0'}"


class RedisStore:
    durable = True

    def __init__(self, url: str) -> None:
        self.url = url
        self.where = _where(url)
        # One client per event loop: a client's connections belong to the loop that opened them, and
        # `cs-mcp call` runs two loops one after the other.
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis] = (
            weakref.WeakKeyDictionary()
        )
        self._sync: redis.Redis | None = None  # for `secret`, which the SDK calls synchronously

    def _client(self) -> redis.asyncio.Redis:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = redis.asyncio.Redis.from_url(
                self.url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
            )
            self._clients[loop] = client
        return client

    async def _run(self, operation: Callable[[redis.asyncio.Redis], Awaitable[T]]) -> T:
        try:
            return await operation(self._client())
        except (redis.RedisError, OSError) as exc:
            raise StoreUnavailable(self.where, str(exc) or type(exc).__name__) from None

    async def _script(self, script: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        # EVAL each time: the scripts are small, and no SCRIPT LOAD state is lost when Redis restarts.
        return await self._run(lambda r: r.eval(script, len(keys), *keys, *args))

    async def put(self, key: str, value: str, ttl: float, *, linger: float = 0.0) -> None:
        stored, lifetime = _stored(Entry(value, ttl, linger))
        await self._run(lambda r: r.set(PREFIX + key, stored, px=lifetime))

    async def put_all(self, entries: Mapping[str, Entry], *, if_room: Cap | None = None) -> Slots:
        if if_room is None:
            if entries:
                await self._run(lambda r: _set_all(r.pipeline(transaction=True), entries).execute())
            return GRANTED
        keys = [PREFIX + if_room.key, *(PREFIX + key for key in entries)]
        args = [repr(if_room.now - if_room.window), if_room.limit]
        for entry in entries.values():
            args.extend(_stored(entry))
        return _slots(await self._script(PUT_IF_ROOM, keys, args), ())

    async def get(self, key: str) -> str | None:
        found = await self._script(GET, [PREFIX + key], [])
        return found.decode() if found else None

    async def take(self, key: str) -> Taken | None:
        found = await self._script(TAKE, [PREFIX + key], [])
        return Taken(found[0].decode(), bool(found[1])) if found else None

    async def delete(self, key: str) -> None:
        await self._run(lambda r: r.delete(PREFIX + key))

    async def reserve(self, cap: Cap, ids: Sequence[str]) -> Slots:
        args = [repr(cap.now - cap.window), math.ceil(cap.window * 1000), cap.limit, repr(cap.now), *ids]
        return _slots(await self._script(RESERVE, [PREFIX + cap.key], args), tuple(ids))

    async def release(self, key: str, ids: Sequence[str]) -> None:
        if ids:
            await self._run(lambda r: r.zrem(PREFIX + key, *ids))

    def secret(self, name: str) -> bytes:
        key = f"{PREFIX}secret:{name}"
        try:
            if self._sync is None:
                self._sync = redis.Redis.from_url(
                    self.url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
                )
            value = self._sync.get(key)
            if value is None:  # the first replica to need it makes it; a racing one keeps the first's
                self._sync.set(key, secrets.token_bytes(32), nx=True)
                value = self._sync.get(key)
        except (redis.RedisError, OSError) as exc:
            raise StoreUnavailable(self.where, str(exc) or type(exc).__name__) from None
        assert isinstance(value, bytes)
        return value
