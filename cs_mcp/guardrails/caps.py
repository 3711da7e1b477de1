"""Operator caps on actions that cost money or reach people, counted over rolling windows.

Which tool counts against which cap is declared on its spec (`cap = {...}` in tool_specs); the caps'
sizes are settings (`config.Caps`). A slot is reserved before the request is sent, so parallel calls
cannot overshoot; it is given back only when the API provably refused the write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from cs_mcp.config import Caps
from cs_mcp.guardrails.audit import stamp
from cs_mcp.guardrails.preview import GuardrailError
from cs_mcp.spec import CapRule


@dataclass(frozen=True)
class Window:
    seconds: float
    unit: str
    option: str


WINDOWS = {
    "purchases_per_day": Window(86400, "purchases per day (rolling 24 hours)", "--max-purchases-per-day"),
    "sms_per_hour": Window(3600, "SMS per hour (rolling)", "--max-sms-per-hour"),
}


def _duration(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def count_of(rule: CapRule, params: BaseModel) -> int:
    """How much one call counts: the length of its `per` argument where that is a list, else one."""
    value = getattr(params, rule.per, None) if rule.per else None
    return len(value) if isinstance(value, list | tuple) else 1


class Reservation:
    """Slots taken for one call; `release` gives them back (only when the write provably did not happen)."""

    def __init__(self, stamps: list[float], mine: list[float]) -> None:
        self._stamps, self._mine = stamps, mine

    def release(self) -> None:
        for moment in self._mine:
            if moment in self._stamps:
                self._stamps.remove(moment)
        self._mine = []


class CapLedger:
    """The acts counted against each cap in this process."""

    def __init__(self, caps: Caps, clock: Callable[[], float]) -> None:
        self.caps = caps
        self.clock = clock
        self._acts: dict[str, list[float]] = {}

    def limit(self, rule: CapRule) -> int:
        return int(getattr(self.caps, rule.cap))

    def refusal(self, rule: CapRule, params: BaseModel) -> str | None:
        """Why this call would go over its cap, or None."""
        window = WINDOWS[rule.cap]
        count, limit, now = count_of(rule, params), self.limit(rule), self.clock()
        stamps = self._acts.setdefault(rule.cap, [])
        stamps[:] = sorted(s for s in stamps if s > now - window.seconds)
        if len(stamps) + count <= limit:
            return None
        if count > limit:
            reset = "it never resets for this request: it is larger than the cap"
        else:
            frees_at = stamps[len(stamps) + count - limit - 1] + window.seconds
            reset = f"the next is allowed at {stamp(frees_at)} (in {_duration(frees_at - now)})"
        return (
            f"Refused: the cap of {limit} {window.unit} is reached ({len(stamps)} used by this server); {reset}. "
            f"Nothing was done. (Operator option {window.option}.)"
        )

    def check(self, rule: CapRule | None, params: BaseModel) -> None:
        if rule is not None and (refusal := self.refusal(rule, params)):
            raise GuardrailError(refusal)

    def reserve(self, rule: CapRule | None, params: BaseModel) -> Reservation:
        """Check and count in one step (no await in between), before the request is sent."""
        if rule is None:
            return Reservation([], [])
        self.check(rule, params)
        stamps = self._acts.setdefault(rule.cap, [])
        mine = [self.clock()] * count_of(rule, params)
        stamps.extend(mine)
        return Reservation(stamps, mine)
