"""What a guardrail state store offers: short-lived entries, taken at most once, and counted slots.

Every operation that guards an action is one atomic step in the store itself (one Redis round trip,
one SQLite transaction), so any number of processes or replicas sharing it agree: `take` hands an
entry to exactly one caller, `reserve` checks a cap and counts against it at once, `put_all` keeps a
preview's entries only while its cap has room. Lifetimes run on the store's side (Redis's clock, or
for SQLite the machine's clocks), never on one process's clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


class StoreUnavailable(Exception):
    """The store could not be reached or written; `where` never carries credentials."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"the guardrail state store ({where}) cannot be used: {reason}")
        self.where, self.reason = where, reason


@dataclass(frozen=True)
class Entry:
    """A value kept `ttl` seconds; `linger` more seconds it stays only for `take` to say it expired."""

    value: str
    ttl: float
    linger: float = 0.0


@dataclass(frozen=True)
class Cap:
    """A rolling window on the slots counted under `key`: at most `limit` of them in the `window`
    seconds up to `now`."""

    key: str
    now: float
    window: float
    limit: int


@dataclass(frozen=True)
class Taken:
    """An entry removed by `take`; `expired` when it was past its lifetime (kept only to say so)."""

    value: str
    expired: bool


@dataclass(frozen=True)
class Slots:
    """The answer of `reserve` (and of `put_all` under a cap): granted, with the ids of the slots taken
    to release them, or refused with the moments of the slots already used in the window, oldest first."""

    granted: bool
    ids: tuple[str, ...] = ()
    used: tuple[float, ...] = ()


GRANTED = Slots(True)


class Store(Protocol):
    where: str  # for messages: a file path or host:port/db, never a password
    durable: bool  # outlives this process, so a later process sees what this one wrote

    async def put(self, key: str, value: str, ttl: float, *, linger: float = 0.0) -> None:
        """Keep `value` for `ttl` seconds; `linger` more seconds it stays only for `take` to say it expired."""
        ...

    async def put_all(self, entries: Mapping[str, Entry], *, if_room: Cap | None = None) -> Slots:
        """Keep every entry, in one atomic step; with `if_room`, only if that cap's window has room for
        one more slot (none is counted), else nothing is kept and the answer says what is used."""
        ...

    async def get(self, key: str) -> str | None:
        """The value if it is within its lifetime."""
        ...

    async def take(self, key: str) -> Taken | None:
        """Remove the entry and return it, atomically: of any number of callers racing, one gets it."""
        ...

    async def delete(self, key: str) -> None: ...

    async def reserve(self, cap: Cap, ids: Sequence[str]) -> Slots:
        """Count `ids` at the cap's `now` if its window then holds at most its limit with them; one atomic
        step."""
        ...

    async def release(self, key: str, ids: Sequence[str]) -> None: ...

    def secret(self, name: str) -> bytes:
        """32 random bytes created once per store and then shared by every process using it (synchronous:
        the SDK's request-state codec that needs them is)."""
        ...
