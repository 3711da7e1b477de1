"""Operator caps on actions that cost money or reach people, counted over rolling windows.

Which tool counts against which cap is declared on its spec (`cap = {...}` in tool_specs); the caps'
sizes are settings (`config.Caps`). Slots are counted in the state store, per API key (each hosted caller's own), so every
process and replica sharing the store shares one count, and a restart does not reset it. A slot is
reserved before the request is sent, in one atomic step of the store (check and count together), so
parallel calls cannot overshoot; it is given back only when the API provably refused the write.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from cs_mcp.config import Caps
from cs_mcp.guardrails.audit import stamp
from cs_mcp.guardrails.preview import GuardrailError
from cs_mcp.spec import CapRule
from cs_mcp.state import Cap, Entry, Store, StoreUnavailable

logger = logging.getLogger("cs_mcp.guardrails")


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


class Reservation:
    """Slots taken for one call; `release` gives them back (only when the write provably did not happen)."""

    def __init__(self, store: Store | None = None, key: str = "", ids: Sequence[str] = ()) -> None:
        self._store, self._key, self._ids = store, key, tuple(ids)

    async def release(self) -> None:
        if self._store is None or not self._ids:
            return
        try:
            await self._store.release(self._key, self._ids)
        except StoreUnavailable as exc:  # the slot stays counted: a cap errs towards fewer acts
            logger.warning("could not give back a cap slot: %s", exc)
        self._ids = ()


class CapLedger:
    """The acts counted against each cap, per API key, in the state store. `scope` names the current
    call's key (its principal id): the server's own, or in hosted mode the caller's."""

    def __init__(
        self, caps: Caps, clock: Callable[[], float], store: Store, scope: Callable[[], str]
    ) -> None:
        self.caps = caps
        self.clock = clock
        self.store = store
        self.scope = scope

    def limit(self, rule: CapRule) -> int:
        return int(getattr(self.caps, rule.cap))

    def _over(self, rule: CapRule, used: Sequence[float], now: float) -> GuardrailError:
        """The refusal of one more act when the window holds `used` (oldest first)."""
        window, limit = WINDOWS[rule.cap], self.limit(rule)
        if limit == 0:
            reset = "none are allowed"
        else:
            frees_at = used[len(used) - limit] + window.seconds
            reset = f"the next is allowed at {stamp(frees_at)} (in {_duration(frees_at - now)})"
        return GuardrailError(
            f"Refused: the cap of {limit} {window.unit} is reached ({len(used)} used with this API key); {reset}. "
            f"Nothing was done. (Operator option {window.option}.)"
        )

    def _cap(self, rule: CapRule) -> Cap:
        """The rule's window now, counted per API key (the current call's principal)."""
        return Cap(
            f"cap:{self.scope()}:{rule.cap}", self.clock(), WINDOWS[rule.cap].seconds, self.limit(rule)
        )

    async def check(self, rule: CapRule | None, *, keeping: Mapping[str, Entry] | None = None) -> None:
        """Refuse now if one more call would go over its cap (before a preview is offered); else keep
        `keeping` (the preview's token) in the same step of the store, so a preview costs one."""
        keeping = keeping or {}
        if rule is None:
            if keeping:
                await self.store.put_all(keeping)
            return
        cap = self._cap(rule)
        slots = await self.store.put_all(keeping, if_room=cap)
        if not slots.granted:
            raise self._over(rule, slots.used, cap.now)

    async def reserve(self, rule: CapRule | None) -> Reservation:
        """Check and count one slot in one atomic step of the store, before the request is sent."""
        if rule is None:
            return Reservation()
        cap = self._cap(rule)
        slots = await self.store.reserve(cap, [secrets.token_hex(8)])
        if not slots.granted:
            raise self._over(rule, slots.used, cap.now)
        return Reservation(self.store, cap.key, slots.ids)
