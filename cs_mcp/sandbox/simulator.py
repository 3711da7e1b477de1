"""`Sandbox`: one simulated business, its app, its faults and its logs."""

from __future__ import annotations

from datetime import UTC, datetime

from cs_mcp.sandbox.app import build_app
from cs_mcp.sandbox.faults import FaultInjector
from cs_mcp.sandbox.formats import epoch
from cs_mcp.sandbox.request_log import RequestLog
from cs_mcp.sandbox.seed import build_state
from cs_mcp.sandbox.state import State
from cs_mcp.sandbox.store import Store


class Sandbox:
    """One simulated business: its data (`state`), its ASGI app (`app`) and its faults (`faults`)."""

    def __init__(self, scale: int = 1, now: datetime | None = None) -> None:
        if scale < 1:
            raise ValueError(f"scale must be at least 1, not {scale}")
        self.scale = scale
        self.now = now or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.state: State = build_state(scale, self.now)
        self.faults = FaultInjector()
        self.writes = RequestLog()  # every write the API applied, in order (a spoiled answer included)
        self.app = build_app(Store(self.state, epoch(self.now)), self.faults, self.writes)

    @property
    def requests(self) -> RequestLog:
        """Every request that reached /api/v1, faulted or not, in order."""
        return self.faults.requests
