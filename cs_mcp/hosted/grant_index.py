"""Which OAuth grants each person (principal) has, for the page where they see and end their sign-ins.

The Store has no listing, so each principal's grant ids are kept in one entry. The entry is rewritten
whenever one of its grants is kept longer, with the longest lifetime a grant can have, so it always
outlives the grants it names. Ids whose grant has ended (revoked, expired) are dropped by `prune`.
Two sign-ins of one person in the same instant may race on the entry: the loser's grant is then missing
from the page (it still ends when revoked through its app, or when it expires).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from cs_mcp.state import Store

# Beyond this many ids, adding one prunes first: a person signing in again and again keeps a short list.
PRUNE_AT = 50


class GrantIndex:
    def __init__(self, store: Store, lifetime: float) -> None:
        self._store = store
        self._lifetime = lifetime

    @staticmethod
    def _entry(principal_id: str) -> str:
        return f"oauth:principal-grants:{principal_id}"

    async def ids(self, principal_id: str) -> list[str]:
        stored = await self._store.get(self._entry(principal_id))
        return list(json.loads(stored)) if stored else []

    async def add(self, principal_id: str, grant_id: str, exists: Callable[[str], Awaitable[bool]]) -> None:
        ids = await self.ids(principal_id)
        if len(ids) >= PRUNE_AT:
            ids = [kept for kept in ids if await exists(kept)]
        if grant_id not in ids:
            ids.append(grant_id)
        await self._write(principal_id, ids)

    async def prune(self, principal_id: str, exists: Callable[[str], Awaitable[bool]]) -> list[str]:
        """The principal's grant ids whose grant still exists; the entry is rewritten without the rest."""
        ids = await self.ids(principal_id)
        kept = [grant_id for grant_id in ids if await exists(grant_id)]
        if kept != ids:
            await self._write(principal_id, kept)
        return kept

    async def _write(self, principal_id: str, ids: list[str]) -> None:
        if ids:
            await self._store.put(self._entry(principal_id), json.dumps(ids), self._lifetime)
        else:
            await self._store.delete(self._entry(principal_id))
