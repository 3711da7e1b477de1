"""Guardrail state: everything the guardrails must remember between calls, processes and replicas
(pending confirmations and elicitation tickets, cap slots, exports, key material), in one store.

- `base`: the `Store` interface and `StoreUnavailable`.
- `sqlite_store`: the embedded default, one SQLite file per user (or `:memory:`).
- `redis_store`: Redis or Valkey, for replicas behind a load balancer.
- `location`: `--state` parsed, and the default file in the user's data folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from cs_mcp.errors import ConfigError
from cs_mcp.state.base import Cap, Entry, Slots, Store, StoreUnavailable, Taken
from cs_mcp.state.location import USER_DATA_FOLDER, is_redis, parse_location, resolve
from cs_mcp.state.sqlite_store import MEMORY, SQLiteStore


def open_store(
    location: str,
    *,
    wall: Callable[[], float] = time.time,
    monotonic: Callable[[], float] = time.monotonic,
) -> Store:
    """The store `--state` names. The clocks time SQLite entries (tests pass their own); Redis keeps
    time itself, and is first reached on first use (an unreachable Redis refuses guarded writes, not
    the start). A SQLite file that cannot be opened stops the start, like any bad configuration."""
    location = resolve(location)
    if is_redis(location):
        from cs_mcp.state.redis_store import RedisStore  # the redis client loads only where it is used

        return RedisStore(location)
    try:
        return SQLiteStore(location, wall=wall, monotonic=monotonic)
    except StoreUnavailable as exc:
        raise ConfigError(f"cannot open the state store {location} (--state): {exc.reason}") from None


__all__ = [
    "MEMORY",
    "USER_DATA_FOLDER",
    "Cap",
    "Entry",
    "SQLiteStore",
    "Slots",
    "Store",
    "StoreUnavailable",
    "Taken",
    "open_store",
    "parse_location",
]
