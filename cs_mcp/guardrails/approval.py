"""Approval on a page (`--confirm url`): a person approves or declines a guarded write in a browser.

A confirmed tool's first call opens an *approval* next to its confirmation token: the preview the
person will see, whose browser may open it, and whether it has been decided. The model holds the
token; the person holds the link. Only a decision recorded from the page lets the token act, and no
tool or argument can record one.

Everything lives in the state store, so the page may be answered by one replica and the retry by
another. Each step a race could repeat is one atomic `take`: the first browser to open a link takes
its binding, the first Approve or Decline takes its decision. Store keys are hashes of the approval
id, so whoever reads the store cannot open the page. An approval lives as long as its token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from cs_mcp.guardrails.preview import GuardrailError, Preview
from cs_mcp.guardrails.tokens import TOKEN_TTL_SECONDS, fingerprint, new_token
from cs_mcp.state import Entry, Store

APPROVED, DECLINED = "approved", "declined"
DECISIONS = (APPROVED, DECLINED)
APPROVE_PATH = "/approve/"


def _key(kind: str, value: str) -> str:
    return f"approval-{kind}:{fingerprint(value)[:32]}"


@dataclass(frozen=True)
class Approval:
    """What a page shows and who may answer it; `owner` is the principal id a browser-session cookie
    must name (where the browser has one)."""

    id: str
    tool: str
    owner: str
    preview: dict[str, Any]

    @property
    def shown(self) -> Preview:
        return Preview.model_validate(self.preview)


class Approvals:
    """Approvals over the state store. `address` says where pages are served (set by whoever serves
    them: the HTTP app, or the loopback page server started on first need); `clock` is the wall clock
    the pages sign their cookies and forms with."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self.lifetime = TOKEN_TTL_SECONDS
        self.address: Callable[[], Awaitable[str]] | None = None

    async def link(self, approval_id: str) -> str:
        if self.address is None:
            raise GuardrailError(
                "Approval pages are not served by this server, so nothing can be approved. Nothing was done. "
                "Ask the operator to run with --confirm auto or token."
            )
        return (await self.address()).rstrip("/") + APPROVE_PATH + approval_id

    async def open(self, token: str, tool: str, owner: str, preview: Preview) -> Approval:
        """An undecided approval for the confirmation `token`, openable by one browser."""
        approval = Approval(new_token(), tool, owner, preview.model_dump(mode="json"))
        ttl, aid = self.lifetime, approval.id
        entries = {
            _key("record", aid): Entry(json.dumps(asdict(approval)), ttl),
            # Known twice as long, only so that a late visit is told "expired", not "unknown".
            _key("known", aid): Entry("1", 2 * ttl),
            _key("unbound", aid): Entry("1", ttl),
            _key("undecided", aid): Entry("1", ttl),
            _key("of-token", token): Entry(aid, ttl),
        }
        await self.store.put_all(entries)  # one step: a page is opened whole or not at all
        return approval

    async def find(self, approval_id: str) -> Approval | None:
        found = await self.store.get(_key("record", approval_id))
        return Approval(**json.loads(found)) if found else None

    async def expired(self, approval_id: str) -> bool:
        """Whether the link was real once (and has outlived its lifetime, when `find` gives nothing)."""
        return await self.store.get(_key("known", approval_id)) is not None

    async def bind(self, approval_id: str, browser: str) -> bool:
        """Whether `browser` may answer: the first browser to ask takes the approval; no other ever can."""
        if await self.store.take(_key("unbound", approval_id)) is not None:
            await self.store.put(_key("browser", approval_id), browser, self.lifetime)
            return True
        return await self.store.get(_key("browser", approval_id)) == browser

    async def decide(self, approval_id: str, decision: str) -> bool:
        """Record the person's decision; False when one was recorded already (a second click, a replay)."""
        assert decision in DECISIONS
        taken = await self.store.take(_key("undecided", approval_id))
        if taken is None or taken.expired:
            return False
        await self.store.put(_key("decision", approval_id), decision, self.lifetime)
        return True

    async def decision(self, approval_id: str) -> str | None:
        return await self.store.get(_key("decision", approval_id))

    async def for_token(self, token: str) -> tuple[Approval | None, str | None]:
        """The approval opened for `token` and its decision (None while the page is unanswered)."""
        approval_id = await self.store.get(_key("of-token", token))
        if approval_id is None:
            return None, None
        return await self.find(approval_id), await self.decision(approval_id)

    async def withdraw(self, approval_id: str) -> None:
        """The person would not even open the page: it can no longer be answered."""
        await self.store.delete(_key("undecided", approval_id))
        await self.store.put(_key("decision", approval_id), DECLINED, self.lifetime)
