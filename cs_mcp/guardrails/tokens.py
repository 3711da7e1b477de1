"""Pending confirmations: single-use tokens (and elicitation tickets) bound to a tool, its exact
arguments, the principal and the preview the user saw.

They live in the state store, so any process or replica sharing it can redeem them, exactly once
(the store's atomic `take`); issuing one and checking its tool's cap are one step of the store.
Lifetimes are the store's: Redis's expiry, or SQLite's deadlines on the machine's clocks, so a wall
clock stepped back cannot stretch them. Store keys are hashes of the tokens: whoever reads the store
cannot redeem what it holds.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from cs_mcp.guardrails.caps import CapLedger
from cs_mcp.guardrails.preview import GuardrailError, Preview
from cs_mcp.spec import CapRule
from cs_mcp.state import Entry, Store

TOKEN_TTL_SECONDS = 300


def fingerprint(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def preview_fingerprint(preview: Preview) -> str:
    return fingerprint(preview.model_dump())


def _key(kind: str, token: str) -> str:
    """`token:...` (the pending confirmation) or `spent:...` (why a misused one was spent)."""
    return f"{kind}:{hashlib.sha256(token.encode()).hexdigest()[:32]}"


def new_token() -> str:
    """128 random bits in hex. A model copies it back, and every result carrying one is counted: digits
    and a-f are pieces the count has seen before, where mixed-case base64 brings new ones to encode."""
    return secrets.token_hex(16)


@dataclass
class Pending:
    tool: str
    arguments: str
    principal: str
    preview: str


def _pending(tool: str, arguments: str, principal: str, preview: Preview) -> Entry:
    """A pending confirmation as kept: one more lifetime past expiry, only so that a late use is told
    "expired", not "unknown"."""
    pending = Pending(tool, arguments, principal, preview_fingerprint(preview))
    return Entry(json.dumps(asdict(pending)), TOKEN_TTL_SECONDS, linger=TOKEN_TTL_SECONDS)


class PendingConfirmations:
    """Tokens issued and not yet redeemed, and, for a clear message, those spent by a mismatched call.
    A token is issued only while its tool's cap has room, checked in the same step of the store."""

    def __init__(self, store: Store, caps: CapLedger) -> None:
        self.store = store
        self.caps = caps

    async def issue(
        self,
        tool: str,
        arguments: str,
        principal: str,
        preview: Preview,
        *,
        cap: CapRule | None = None,
        latest: str | None = None,
    ) -> str:
        """A new token for this preview, kept (with `latest` naming it, for an elicitation ticket) only if
        `cap` has room: one step of the store."""
        token = new_token()
        keeping = {_key("token", token): _pending(tool, arguments, principal, preview)}
        if latest is not None:
            keeping[latest] = Entry(token, TOKEN_TTL_SECONDS)
        await self.caps.check(cap, keeping=keeping)
        return token

    async def peek(self, token: str) -> Pending | None:
        found = await self.store.get(_key("token", token))
        return Pending(**json.loads(found)) if found else None

    async def discard(self, token: str) -> None:
        await self.store.delete(_key("token", token))

    async def ticket(
        self,
        tool: str,
        arguments: str,
        principal: str,
        preview: Preview,
        *,
        resuming: bool,
        cap: CapRule | None = None,
    ) -> str:
        """The ticket an elicitation question names. A later round of the same call (2026-07-28), on
        whichever replica, must ask the very same question, so it reuses the still-pending ticket for
        the same preview; a first round always gets a new one. A reused ticket's cap was checked when
        it was issued, and the reservation that comes before the write checks it again."""
        latest = f"latest:{principal}:{fingerprint([tool, arguments])[:32]}"
        if resuming:
            ticket = await self.store.get(latest)
            pending = await self.peek(ticket) if ticket else None
            if ticket and pending is not None and pending.preview == preview_fingerprint(preview):
                return ticket
        return await self.issue(tool, arguments, principal, preview, cap=cap, latest=latest)

    async def redeem(self, token: str, tool: str, arguments: str, principal: str) -> Pending:
        """The pending confirmation `token` stands for, removed at once: a token confirms one call, however
        many arrive together on however many replicas, and a misused one is spent too (so it can't be
        probed)."""
        taken = await self.store.take(_key("token", token))
        if taken is None:
            spent = await self.store.get(_key("spent", token))
            if spent is not None:
                raise GuardrailError(
                    f"This confirmation_token was spent by an earlier call {spent}. Nothing was done. "
                    "Call again without it to get a fresh preview and show it to the user."
                )
            raise GuardrailError(
                "confirmation_token is not valid (unknown, already used, or made up). Nothing was done. "
                "Call again without it to get a fresh preview and show it to the user."
            )
        if taken.expired:
            raise GuardrailError(
                f"confirmation_token has expired ({TOKEN_TTL_SECONDS // 60} minutes). Nothing was done. "
                "Call again without it for a fresh preview."
            )
        pending = Pending(**json.loads(taken.value))
        mismatch = None
        if pending.principal != principal:
            mismatch = (
                "from another caller (another MCP session or user)",
                "confirmation_token was issued to another caller, not this one: over HTTP a token belongs to the "
                "MCP session (and key) that got the preview, and every new connection is a new session (each "
                "`inspector --cli` run is one). It is spent now; nothing was done. To confirm "
                f"{tool}, call it again without a token for a preview of your own and confirm from this same "
                f"session; on a terminal, `cs-mcp call {tool} ...` asks you directly.",
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
            await self.store.put(_key("spent", token), mismatch[0], TOKEN_TTL_SECONDS)
            raise GuardrailError(mismatch[1])
        return pending
