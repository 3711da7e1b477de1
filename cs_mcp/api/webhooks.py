"""Post-call webhook deliveries: the log, newest first, read in pages of `limit`/`offset`."""

from __future__ import annotations

from cs_mcp import fan_out
from cs_mcp.api.resource import Answer, Items, Resource

PATH = "/webhooks/deliveries"
DELIVERY_PAGE = 500  # deliveries asked for per request while reading the whole log
# Pages of one read in flight at once: most of the client's pool (20), leaving room for other requests.
PAGES_AT_ONCE = 8


class Webhooks(Resource):
    async def deliveries(self) -> Items:
        """The whole delivery log. The first page's `total` says how many pages follow; they are fetched
        concurrently (52 pages one after another took 52 round trips)."""
        first = await self._page(0)
        items = first.items("deliveries")
        total = first.data.get("total") if isinstance(first.data, dict) else None
        if len(items) == DELIVERY_PAGE and isinstance(total, int) and total > DELIVERY_PAGE:
            items.extend(await self._pages(range(DELIVERY_PAGE, total, DELIVERY_PAGE)))
        # A log that grew while it was read (or an answer without a total): read on until a short page.
        while len(items) % DELIVERY_PAGE == 0 and items:
            batch = (await self._page(len(items))).items("deliveries")
            items.extend(batch)
            if len(batch) < DELIVERY_PAGE:
                break
        return items

    async def _page(self, offset: int) -> Answer:
        return await self._get(PATH, {"limit": DELIVERY_PAGE, "offset": offset})

    async def _pages(self, offsets: range) -> Items:
        """The pages at `offsets`, in order, at most PAGES_AT_ONCE requests in flight."""
        pages = await fan_out.gather(self._page, offsets, limit=PAGES_AT_ONCE)
        return [item for page in pages for item in page.items("deliveries")]
