"""Acting once: how a write is sent, counted, audited and, when its answer is lost, reconciled.

The API client tells apart a write the API provably refused before acting (a 4xx, a 429, a connect
error: any `CallScalerError` but `WriteOutcomeUnknown`) from one that may have been applied (5xx,
malformed or unexpected answers, timeouts after sending). Only the first frees the cap slot and is
reported as not done. The second is never retried: it is checked against the API's state by the
tool's reconciler (twice, a short delay apart, so a write still in flight is not missed), and reported
as done once found, or as unknown with what to check; its cap slot stays used.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, ValidationError

from cs_mcp.errors import CallScalerError, WriteOutcomeUnknown
from cs_mcp.guardrails.caps import CapLedger
from cs_mcp.guardrails.preview import GuardrailError
from cs_mcp.listing import QueryError

if TYPE_CHECKING:
    from cs_mcp.handlers import ToolCall

logger = logging.getLogger("cs_mcp.guardrails")

# How long to wait before the second look at the API's state after a lost answer.
RECHECK_DELAY_SECONDS = 2.0


class OutcomeUnknown(GuardrailError):
    """A write may or may not have happened; the message says what was checked and what to check."""


def _lost_reason(exc: BaseException) -> str:
    if isinstance(exc, CallScalerError):
        return exc.message
    if isinstance(exc, ValidationError):
        return "CallScaler's answer did not have the expected shape"
    return f"an unexpected {type(exc).__name__} after the request was sent"


class WriteActor:
    """Sends one write, once, under the caps; reconciles it when its outcome is unknown."""

    def __init__(
        self,
        caps: CapLedger,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        recheck_delay: float = RECHECK_DELAY_SECONDS,
    ) -> None:
        self.caps = caps
        self.sleep = sleep
        self.recheck_delay = recheck_delay

    async def act(self, call: ToolCall, params: BaseModel) -> tuple[Any, bool]:
        """The write's result, and whether it was found by reconciliation (its answer was lost)."""
        spec, functions = call.spec, call.spec.functions
        snapshot = await functions.snapshot(call, params) if functions.snapshot else None
        reservation = await self.caps.reserve(spec.cap)
        try:
            if call.audit is not None:
                call.audit.started()  # fails closed: no line, no write
        except GuardrailError:
            await reservation.release()
            raise
        try:
            return await spec.handler(call, params), False
        except WriteOutcomeUnknown as exc:
            lost: BaseException = exc
        except (CallScalerError, GuardrailError, ToolError, QueryError):
            # Refused by the API before acting, never sent, or refused by the handler's own checks.
            await reservation.release()
            raise
        except Exception as exc:  # an answer we could not read, or a bug after sending: may have happened
            logger.warning("%s: outcome unknown after %s", spec.name, type(exc).__name__, exc_info=exc)
            lost = exc
        return await self._reconcile(call, params, snapshot, lost), True

    async def _reconcile(self, call: ToolCall, params: BaseModel, snapshot: Any, lost: BaseException) -> Any:
        spec = call.spec
        reason = _lost_reason(lost)
        reconcile = spec.functions.reconcile
        if reconcile is None:
            raise OutcomeUnknown(self._unknown(call, reason, f"Check with {spec.if_unknown}"))
        try:
            for attempt in range(2):
                if attempt:
                    await self.sleep(self.recheck_delay)
                found = await reconcile(call, params, snapshot)
                if found is not None:
                    return found
        except CallScalerError as exc:
            raise OutcomeUnknown(
                self._unknown(call, reason, f"Checking afterwards failed too ({exc.message})")
            ) from None
        raise OutcomeUnknown(
            self._unknown(
                call,
                reason,
                f"Two checks of CallScaler's state, {self.recheck_delay:g} s apart, do not show it, so it most "
                "likely did not happen, but that cannot be proven",
            )
        )

    @staticmethod
    def _unknown(call: ToolCall, reason: str, checked: str) -> str:
        spec = call.spec
        check = f" ({spec.if_unknown})" if spec.if_unknown and not checked.startswith("Check with") else ""
        cap = " It still counts against the operator's cap." if spec.cap else ""
        return (
            f"OUTCOME UNKNOWN for {spec.name}: the request reached CallScaler but {reason}, so it may or may not "
            f"have taken effect. It was not retried. {checked}.{cap} Do not call {spec.name} again until the "
            f"current state shows it did not happen{check}; tell the user."
        )
