"""Number pools: `/number-pools`, one pool with its numbers, and adding numbers to it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cs_mcp.api.number_groups import member_count
from cs_mcp.api.resource import Items, Resource


class NumberPools(Resource):
    async def list(self) -> Items:
        return (await self._get("/number-pools")).items("number_pools")

    async def get(self, pool_id: object) -> dict[str, Any]:
        """The pool, with its numbers (`numbers`, a list of number objects: checked, and [] when absent)."""
        answer = await self._get(f"/number-pools/{pool_id}")
        pool = answer.object("number_pool")
        numbers = pool.get("numbers") or []
        if not (isinstance(numbers, list) and all(isinstance(n, dict) for n in numbers)):
            raise answer.unreadable("the pool's numbers are not a list of number objects")
        return {**pool, "numbers": numbers}

    async def add_numbers(self, pool_id: object, number_ids: Sequence[str]) -> int | None:
        """Add numbers by id; the pool's new number count, when the API says it."""
        answer = await self._send(
            "POST", f"/number-pools/{pool_id}/numbers", {"number_ids": list(number_ids)}
        )
        return member_count(answer)
