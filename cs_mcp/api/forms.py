"""Forms: one form with its fields and recent submissions."""

from __future__ import annotations

from typing import Any

from cs_mcp.api.resource import Resource


class Forms(Resource):
    async def get(self, form_id: object) -> dict[str, Any]:
        return (await self._get(f"/forms/{form_id}")).object("form")
