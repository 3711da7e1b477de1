"""Calls: the call log (filtered and paged by the API itself), one call, its transcription and recording,
the CSV export, and the analytics endpoint that counts calls by the same filters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from cs_mcp.api.resource import Resource

if TYPE_CHECKING:
    from cs_mcp.client import RawResponse

# The API's largest page of calls (with an API key), and how many pages are asked for at once: well
# within the client's pool of 20 connections, so other tools' requests still find one.
MAX_CALLS_PAGE = 500
PAGES_AT_ONCE = 6


@dataclass(frozen=True)
class CallLogPage:
    items: list[dict[str, Any]]
    next_cursor: str | None  # None: this is the last page


@dataclass(frozen=True)
class CallAnalytics:
    rows: list[dict[str, Any]]  # one per combination of the group_by fields
    totals: dict[str, Any]  # over every matching call


class Calls(Resource):
    async def page(self, filters: Mapping[str, Any], *, limit: int, cursor: str | None) -> CallLogPage:
        """Up to `limit` calls matching `filters`, newest first, from `cursor` (None: the start)."""
        answer = await self._get("/calls", {**filters, "limit": limit, "cursor": cursor})
        items = answer.items("calls")
        data = answer.object()
        more = data.get("next_cursor") if data.get("has_more", True) else None
        return CallLogPage(items, str(more) if more else None)

    async def each_page(
        self,
        filters: Mapping[str, Any],
        *,
        total: int,
        take: Callable[[list[dict[str, Any]]], Awaitable[None]],
    ) -> None:
        """Every call matching `filters`, of which there are `total` (as counted by `analytics`), read in
        pages by offset, several at once, each handed to `take` as it arrives (in any order) and not
        kept: a caller that counts holds its counts, not the calls. A call logged meanwhile shifts the
        offsets, so one may come twice (its id tells)."""
        limiter = anyio.CapacityLimiter(PAGES_AT_ONCE)

        async def read(offset: int) -> None:
            async with limiter:
                query = {**filters, "limit": MAX_CALLS_PAGE, "offset": offset}
                await take((await self._get("/calls", query)).items("calls"))

        async with anyio.create_task_group() as group:
            for offset in range(0, total, MAX_CALLS_PAGE):
                group.start_soon(read, offset)

    async def get(self, call_id: object) -> dict[str, Any]:
        """One call, with its summary and transcription."""
        return (await self._get(f"/calls/{call_id}")).object("call")

    async def transcription(self, call_id: object) -> str | None:
        """The call's whole transcription (None: it has none). A legacy endpoint, answered without the envelope."""
        answer = await self._get(f"/calls/{call_id}/transcription")
        text = answer.object().get("transcription")
        if text is not None and not isinstance(text, str):
            raise answer.unreadable("the transcription is not text")
        return text

    async def recording(self, call_id: object) -> RawResponse:
        """The call's audio (audio/mpeg), as bytes; 404 `NotFound` when the call has none."""
        return await self._client.get_raw(f"/calls/{call_id}/recording")

    async def export(self, filters: Mapping[str, Any]) -> RawResponse:
        """Every call matching `filters` as CSV (no paging). Too many matches: 422 `InvalidRequest`."""
        return await self._client.get_raw("/calls/export", filters)

    async def analytics(
        self, filters: Mapping[str, Any], *, group_by: list[str], metrics: list[str]
    ) -> CallAnalytics:
        """`metrics` of the calls matching `filters`, per combination of `group_by` (none: totals only)."""
        query = {**filters, "metrics": metrics, **({"group_by": group_by} if group_by else {})}
        answer = await self._get("/analytics/calls", query)
        totals = answer.object().get("totals") or {}
        if not isinstance(totals, dict):
            raise answer.unreadable("the analytics totals are not an object")
        return CallAnalytics(answer.items("rows"), totals)
