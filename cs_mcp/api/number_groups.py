"""Number groups: `/number-groups` and their members. There is no `GET /number-groups/{id}`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cs_mcp.api.models import Removed
from cs_mcp.api.resource import Answer, Items, Resource


def member_count(answer: Answer) -> int | None:
    """The count a membership change answers with, if it says (a 204 says nothing)."""
    count = answer.data.get("number_count") if isinstance(answer.data, dict) else None
    return count if isinstance(count, int) else None


class NumberGroups(Resource):
    async def list(self) -> Items:
        return (await self._get("/number-groups")).items("number_groups", "groups")

    async def find(self, group_id: object) -> dict[str, Any] | None:
        """The group with id `group_id`, looked up in the list."""
        wanted = str(group_id).lower()
        return next((g for g in await self.list() if str(g.get("id")).lower() == wanted), None)

    async def members(self, group_id: object) -> Items:
        """The numbers in the group."""
        return (await self._get(f"/number-groups/{group_id}/members")).items("numbers", "members")

    async def add_members(self, group_id: object, number_ids: Sequence[str]) -> int | None:
        """Add numbers by id; the group's new member count, when the API says it."""
        answer = await self._send(
            "POST", f"/number-groups/{group_id}/members", {"number_ids": list(number_ids)}
        )
        return member_count(answer)

    async def delete(self, group_id: object) -> Removed:
        """Delete the group (the numbers stay)."""
        answer = await self._send("DELETE", f"/number-groups/{group_id}")
        return Removed(id=str(group_id), deleted=True) if answer.empty else answer.model(Removed)
