"""The shared store for several replicas: Redis (or Valkey), through the `redis` client's asyncio API.

Each guarding operation is one command or one Lua script, which Redis runs atomically: `take` reads,
deletes and reports an entry's remaining lifetime in one step, so of N replicas racing for one token
exactly one gets it; `reserve` prunes the window, counts and adds slots in one step. Lifetimes are
Redis's own key expiry (PX), on Redis's clock. Connections fail fast (2 s), so an unreachable Redis
refuses guarded writes at once rather than hanging them; the client reconnects by itself when it is back.
"""

from __future__ import annotations

import asyncio
import secrets
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import redis
import redis.asyncio

from cs_mcp.state.base import Slots, StoreUnavailable, Taken

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
# ARGV: now, window (seconds), limit, then the ids to add. Returns {1} or {0, used moments...}.
RESERVE = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) + #ARGV - 3 <= limit then
  for i = 4, #ARGV do redis.call('ZADD', KEYS[1], now, ARGV[i]) end
  redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
  return {1}
end
local used = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local answer = {0}
for i = 2, #used, 2 do answer[#answer + 1] = used[i] end
return answer
"""


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
        stored = f"{round(linger * 1000)}|{value}"
        await self._run(lambda r: r.set(PREFIX + key, stored, px=max(1, round((ttl + linger) * 1000))))

    async def get(self, key: str) -> str | None:
        found = await self._script(GET, [PREFIX + key], [])
        return found.decode() if found else None

    async def take(self, key: str) -> Taken | None:
        found = await self._script(TAKE, [PREFIX + key], [])
        return Taken(found[0].decode(), bool(found[1])) if found else None

    async def delete(self, key: str) -> None:
        await self._run(lambda r: r.delete(PREFIX + key))

    async def used(self, key: str, *, now: float, window: float) -> list[float]:
        found = await self._run(
            lambda r: r.zrangebyscore(PREFIX + key, f"({now - window}", "+inf", withscores=True)
        )
        return [float(pair[1]) for pair in found]

    async def reserve(self, key: str, *, now: float, window: float, limit: int, ids: Sequence[str]) -> Slots:
        answer = await self._script(RESERVE, [PREFIX + key], [repr(now), repr(window), limit, *ids])
        if answer[0] == 1:
            return Slots(True, tuple(ids))
        return Slots(False, used=tuple(float(moment) for moment in answer[1:]))

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
