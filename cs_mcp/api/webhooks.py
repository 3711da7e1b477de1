"""Post-call webhook deliveries: the log, newest first, read in pages of `limit`/`offset`."""

from __future__ import annotations

from typing import Any

from cs_mcp.api.resource import Items, Resource

DELIVERY_PAGE = 500  # deliveries asked for per request while reading the whole log


class Webhooks(Resource):
    async def deliveries(self) -> Items:
        """The whole delivery log."""
        items: list[dict[str, Any]] = []
        while True:
            answer = await self._get("/webhooks/deliveries", {"limit": DELIVERY_PAGE, "offset": len(items)})
            batch = answer.items("deliveries")
            items.extend(batch)
            if len(batch) < DELIVERY_PAGE:
                return items
