"""The embedded store: one SQLite file (WAL) that every cs-mcp process of one user on one machine
shares, or `:memory:` for one process (tests, code that builds `Settings` itself).

Atomicity comes from SQLite itself: `take` is one `DELETE ... RETURNING`, `reserve` and `put_all`
one `BEGIN IMMEDIATE` transaction each, so two processes racing for a token or the last cap slot are
serialised by the database lock. Lifetimes are kept on both of the machine's clocks and an entry
ends when either says so: the wall clock stepped back cannot stretch it (the monotonic clock, which
every process of the machine shares, still runs), and a reboot, which restarts the monotonic clock,
cannot either (the wall clock has moved on).

Operations run on the caller's thread: each is a few statements on a local file, shorter than
handing it to a worker thread would be.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from cs_mcp.state.base import GRANTED, Cap, Entry, Slots, StoreUnavailable, Taken

MEMORY = ":memory:"
BUSY_TIMEOUT_SECONDS = 5.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY, value TEXT NOT NULL,
    wall_deadline REAL NOT NULL, mono_deadline REAL NOT NULL, linger REAL NOT NULL
) WITHOUT ROWID;
-- The sweep of forgotten entries (FORGOTTEN, on every put) by index, never by scanning the table, which
-- would read through every kept export's value to reach the deadlines stored after it.
CREATE INDEX IF NOT EXISTS entries_forgotten_wall ON entries (wall_deadline + linger);
CREATE INDEX IF NOT EXISTS entries_forgotten_mono ON entries (mono_deadline + linger);
CREATE TABLE IF NOT EXISTS slots (
    cap TEXT NOT NULL, id TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (cap, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
"""
# An entry still alive (`?` = wall, monotonic), and one also past its linger (forgotten).
ALIVE = "wall_deadline > ? AND mono_deadline > ?"
FORGOTTEN = "wall_deadline + linger <= ? OR mono_deadline + linger <= ?"


def _private_file(path: Path) -> None:
    """The folder and file made readable by their owner only before SQLite opens them."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))


class SQLiteStore:
    def __init__(
        self,
        location: str | Path,
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.wall, self.monotonic = wall, monotonic
        self.durable = str(location) != MEMORY
        self.where = f"SQLite {location}"
        self._lock = threading.Lock()  # one connection; the CLI and tests may use it from two threads
        try:
            if self.durable:
                _private_file(Path(location))
            self._db = sqlite3.connect(
                str(location), timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
            )
            if self.durable:
                self._db.execute("PRAGMA journal_mode=WAL")
                # Durable against a crash or a restart; a power cut may forget the last moments' writes.
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(self.where, str(exc)) from None

    @contextmanager
    def _using(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._db
            except BaseException as exc:
                if self._db.in_transaction:  # never left holding the write lock
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StoreUnavailable(self.where, str(exc)) from None
                raise

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, the write lock taken first: no other process writes in between, and
        its statements cost one commit."""
        with self._using() as db:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")

    def _now(self) -> tuple[float, float]:
        return self.wall(), self.monotonic()

    async def put(self, key: str, value: str, ttl: float, *, linger: float = 0.0) -> None:
        await self.put_all({key: Entry(value, ttl, linger)})

    async def put_all(self, entries: Mapping[str, Entry], *, if_room: Cap | None = None) -> Slots:
        wall, mono = self._now()
        with self._transaction() as db:
            if if_room is not None and (refused := self._refusal(db, if_room, wanted=1)) is not None:
                return refused
            if entries:
                db.execute(f"DELETE FROM entries WHERE {FORGOTTEN}", (wall, mono))
                db.executemany(
                    "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?)",
                    [(k, e.value, wall + e.ttl, mono + e.ttl, e.linger) for k, e in entries.items()],
                )
        return GRANTED

    async def get(self, key: str) -> str | None:
        with self._using() as db:
            row = db.execute(
                f"SELECT value FROM entries WHERE key = ? AND {ALIVE}", (key, *self._now())
            ).fetchone()
        return row[0] if row else None

    async def take(self, key: str) -> Taken | None:
        wall, mono = self._now()
        with self._using() as db:
            row = db.execute(
                f"DELETE FROM entries WHERE key = ? AND NOT ({FORGOTTEN}) "
                "RETURNING value, wall_deadline, mono_deadline",
                (key, wall, mono),
            ).fetchone()
        if row is None:
            return None
        value, wall_deadline, mono_deadline = row
        return Taken(value, expired=wall >= wall_deadline or mono >= mono_deadline)

    async def delete(self, key: str) -> None:
        with self._using() as db:
            db.execute("DELETE FROM entries WHERE key = ?", (key,))

    async def reserve(self, cap: Cap, ids: Sequence[str]) -> Slots:
        with self._transaction() as db:
            db.execute("DELETE FROM slots WHERE cap = ? AND at <= ?", (cap.key, cap.now - cap.window))
            if (refused := self._refusal(db, cap, wanted=len(ids))) is not None:
                return refused
            db.executemany("INSERT INTO slots VALUES (?, ?, ?)", [(cap.key, i, cap.now) for i in ids])
        return Slots(True, tuple(ids))

    @staticmethod
    def _refusal(db: sqlite3.Connection, cap: Cap, *, wanted: int) -> Slots | None:
        """None if `wanted` more slots fit the cap's window; else the refusal, with the moments used
        (read only then: a granted step needs the count alone)."""
        since = cap.now - cap.window
        (count,) = db.execute(
            "SELECT COUNT(*) FROM slots WHERE cap = ? AND at > ?", (cap.key, since)
        ).fetchone()
        if count + wanted <= cap.limit:
            return None
        rows = db.execute("SELECT at FROM slots WHERE cap = ? AND at > ? ORDER BY at", (cap.key, since))
        return Slots(False, used=tuple(at for (at,) in rows))

    async def release(self, key: str, ids: Sequence[str]) -> None:
        with self._using() as db:
            db.executemany("DELETE FROM slots WHERE cap = ? AND id = ?", [(key, i) for i in ids])

    def secret(self, name: str) -> bytes:
        with self._using() as db:
            found = db.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()
            if found is None:  # the first process to need it makes it; a racing one keeps the first's
                db.execute("INSERT OR IGNORE INTO secrets VALUES (?, ?)", (name, secrets.token_bytes(32)))
                found = db.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()
        return bytes(found[0])
