"""A clock and sleep for the API client's retries that take no real time (RetryPolicy's injectables)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cs_mcp.client import RetryPolicy


@dataclass
class FakeTime:
    """Time that passes only when the client sleeps or a test says so (`advance`)."""

    now: float = 0.0
    slept: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def policy(self, **options: Any) -> RetryPolicy:
        """A RetryPolicy on this time; no jitter unless asked, so waits are exact."""
        settings = {"max_attempts": 4, "total_seconds": 30.0, "base_delay": 0.0, **options}
        return RetryPolicy(**settings, clock=self.clock, sleep=self.sleep)
