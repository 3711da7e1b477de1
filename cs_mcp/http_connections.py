"""Connection-level defence against slow clients, as a uvicorn h11 protocol.

uvicorn gives a connection unlimited time to send its request headers, and counts half-open
connections against `limit_concurrency` like busy ones, so clients that never finish a request can
hold every file descriptor (or every concurrency slot) and lock real clients out before any bearer
check can run. This protocol adds what is missing:

- a read deadline: a connection must deliver a whole request (headers and body) within
  `read_timeout` seconds of opening or of its previous response, or it is closed;
- shedding: when a new connection takes the count past `max_connections`, the connection that has
  waited longest for its request to arrive is closed, so a newcomer that sends its request promptly
  is always read. Connections whose request has fully arrived are never shed.

Built on uvicorn 0.54.0's `H11Protocol` (its `conn`, `transport`, `connections`, `loop` attributes and
`on_response_complete` hook); tests/test_http_hardening.py attacks a real server and fails if they change.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from cs_mcp.http_limits import HttpLimits

logger = logging.getLogger("cs_mcp.http")

# A connection in these states is still waiting for (part of) its client's request.
RECEIVING = (h11.IDLE, h11.SEND_BODY)


class GuardedH11Protocol(H11Protocol):
    limits: ClassVar[HttpLimits] = HttpLimits()
    shed_count: ClassVar[int] = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waiting_since = 0.0
        # At most one timer per connection, re-armed when it fires: a timer made and cancelled for
        # every request cost more than the rest of this guard (and left cancelled handles in the heap).
        self.read_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_request()
        self._shed_if_crowded()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._await_request()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.read_deadline is not None:
            self.read_deadline.cancel()
        super().connection_lost(exc)

    def is_receiving(self) -> bool:
        return not self.transport.is_closing() and self.conn.their_state in RECEIVING

    def _await_request(self) -> None:
        """Start the clock for the next request: it has `read_timeout` seconds to arrive in full."""
        self.waiting_since = self.loop.time()
        if self.read_deadline is None:
            self._arm(self.waiting_since + self.limits.read_timeout)

    def _arm(self, when: float) -> None:
        self.read_deadline = self.loop.call_at(when, self._read_deadline_passed)

    def _read_deadline_passed(self) -> None:
        """Close the connection if its current wait is `read_timeout` old; if a later wait began since
        the timer was set, wait for that one's deadline instead."""
        self.read_deadline = None
        if not self.is_receiving():
            return  # serving a request: the wait for the next one arms the timer again
        due = self.waiting_since + self.limits.read_timeout
        if due > self.loop.time():
            self._arm(due)
            return
        logger.debug("closing a connection that did not send its request in time")
        self.transport.close()

    def _shed_if_crowded(self) -> None:
        if len(self.connections) <= self.limits.max_connections:
            return
        waiting = [
            other
            for other in self.connections
            if other is not self and isinstance(other, GuardedH11Protocol) and other.is_receiving()
        ]
        if not waiting:
            return  # every connection is serving a request: uvicorn's limit_concurrency answers 503
        min(waiting, key=lambda other: other.waiting_since).transport.close()
        GuardedH11Protocol.shed_count += 1
        if GuardedH11Protocol.shed_count % 1000 == 1:  # an attack sheds thousands: say so, not each time
            logger.warning(
                "more than %d HTTP connections: closed %d that had not sent a request (slow or stalled clients)",
                self.limits.max_connections,
                GuardedH11Protocol.shed_count,
            )


def guarded_protocol(limits: HttpLimits) -> type[GuardedH11Protocol]:
    """The protocol class uvicorn instantiates per connection, carrying these limits."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"limits": limits})
