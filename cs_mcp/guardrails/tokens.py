"""Pending confirmations: single-use tokens (and elicitation tickets) bound to a tool, its exact
arguments, the principal and the preview the user saw. Lifetimes run on a monotonic clock, so a wall
clock stepped back cannot stretch them."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cs_mcp.guardrails.preview import GuardrailError, Preview

TOKEN_TTL_SECONDS = 300


def fingerprint(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def preview_fingerprint(preview: Preview) -> str:
    return fingerprint(preview.model_dump())


@dataclass
class Pending:
    tool: str
    arguments: str
    principal: str
    preview: str
    expires_at: float


class PendingConfirmations:
    """Tokens issued and not yet redeemed, and, for a clear message, those spent by a mismatched call."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._pending: dict[str, Pending] = {}
        self._spent: dict[str, tuple[str, float]] = {}  # token -> (why it was spent, until when to remember)

    def _expire(self) -> None:
        now = self.clock()
        self._pending = {k: v for k, v in self._pending.items() if v.expires_at > now}
        self._spent = {k: v for k, v in self._spent.items() if v[1] > now}

    def issue(self, tool: str, arguments: str, principal: str, preview: Preview) -> str:
        self._expire()
        token = secrets.token_urlsafe(18)
        self._pending[token] = Pending(
            tool, arguments, principal, preview_fingerprint(preview), self.clock() + TOKEN_TTL_SECONDS
        )
        return token

    def peek(self, token: str) -> Pending | None:
        pending = self._pending.get(token)
        return pending if pending is not None and pending.expires_at > self.clock() else None

    def discard(self, token: str) -> None:
        self._pending.pop(token, None)

    def redeem(self, token: str, tool: str, arguments: str, principal: str) -> Pending:
        """The pending confirmation `token` stands for, removed at once: a token confirms one call, however
        many arrive together, and a misused one is spent too (so it can't be probed)."""
        pending = self._pending.pop(token, None)
        if pending is None:
            spent = self._spent.get(token)
            if spent is not None:
                raise GuardrailError(
                    f"This confirmation_token was spent by an earlier call {spent[0]}. Nothing was done. "
                    "Call again without it to get a fresh preview and show it to the user."
                )
            raise GuardrailError(
                "confirmation_token is not valid (unknown, already used, or made up). Nothing was done. "
                "Call again without it to get a fresh preview and show it to the user."
            )
        if pending.expires_at <= self.clock():
            raise GuardrailError(
                f"confirmation_token has expired ({TOKEN_TTL_SECONDS // 60} minutes). Nothing was done. "
                "Call again without it for a fresh preview."
            )
        mismatch = None
        if pending.principal != principal:
            mismatch = (
                "from another caller (another MCP session or user)",
                "confirmation_token was issued to another caller (another MCP session), not this one; it is "
                "spent now. Nothing was done. Call again without it for a preview of your own.",
            )
        elif pending.tool != tool:
            mismatch = (
                f"of {tool}, though it was issued for {pending.tool}",
                f"confirmation_token was issued for {pending.tool}, not {tool}; it is spent now. Nothing was "
                "done. Call again without it for a fresh preview.",
            )
        elif pending.arguments != arguments:
            mismatch = (
                "with other arguments than the preview's",
                "confirmation_token was issued for other arguments; it is spent now. Nothing was done. Confirm "
                "exactly what the user saw, or call again without a token for a new preview.",
            )
        if mismatch is not None:
            self._spent[token] = (mismatch[0], pending.expires_at)
            raise GuardrailError(mismatch[1])
        return pending
