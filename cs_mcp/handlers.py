"""The generic tool handlers most catalogue entries use, and the context every handler receives.

A handler is `async (call: ToolCall, params: <input model>) -> <output model>`. A tool uses `call`
(or `list_items`, for list tools) unless its toolset module's `TOOLS` table gives its own.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from cs_mcp.budget import Measured
from cs_mcp.client import CallScalerClient
from cs_mcp.config import Settings
from cs_mcp.guardrails.preview import TOKEN_ARGUMENT
from cs_mcp.listing import ListQuery, MoreSummary, build_page, page_item_model
from cs_mcp.spec import ToolSpec

if TYPE_CHECKING:
    from mcp.server.mcpserver import Context

    from cs_mcp.guardrails import AuditRecord, Guardrails

logger = logging.getLogger("cs_mcp.handlers")
_PATH_PARAM = re.compile(r"{(\w+)}")


@dataclass
class ToolCall:
    """What a handler may use: the spec it serves, the shared API client, settings and the MCP context."""

    spec: ToolSpec
    api: CallScalerClient
    settings: Settings
    guardrails: Guardrails
    ctx: Context[Any, Any] | None = None
    audit: AuditRecord | None = None
    catalogue: Sequence[ToolSpec] = field(default_factory=tuple)  # every tool, for get_capabilities

    async def progress(self, done: float, total: float, message: str) -> None:
        """Progress for clients that asked for it (sent only with a progress token); never fails a call."""
        if self.ctx is not None:
            try:
                await self.ctx.report_progress(done, total, message)
            except Exception:  # a client that went away must not fail the tool
                logger.debug("progress notification not sent", exc_info=True)

    def path(self, params: BaseModel) -> str:
        """The spec's path with `{name}` filled from the arguments."""
        return _PATH_PARAM.sub(lambda m: str(getattr(params, m.group(1))), self.spec.path)

    def rest(self, params: BaseModel, *, exclude: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
        """Arguments that are not path parameters (nor a confirmation token), ready to send as query or body."""
        in_path = set(_PATH_PARAM.findall(self.spec.path))
        return params.model_dump(
            mode="json", by_alias=True, exclude_none=True, exclude=in_path | {TOKEN_ARGUMENT} | set(exclude)
        )

    async def fetch_list(self, params: BaseModel) -> list[dict[str, Any]]:
        """Every item of the spec's list endpoint (the API returns whole collections)."""
        assert self.spec.listing is not None
        return await self.api.endpoints.items(self.path(params), self.spec.listing.items)


async def call(call: ToolCall, params: BaseModel) -> BaseModel:
    """Send the arguments to the endpoint (query for GET, JSON body otherwise) and type the answer."""
    spec = call.spec
    return await call.api.endpoints.call(
        spec.method,
        call.path(params),
        call.rest(params),
        spec.output_model,
        key=spec.result_key,
        write=spec.writes,
    )


async def list_items(
    call: ToolCall,
    params: ListQuery,
    items: list[dict[str, Any]] | None = None,
    more_summary: MoreSummary | None = None,
) -> Measured[Any]:
    """Fetch the whole collection, then filter, summarise and page it within the output budget.

    A custom handler that fetches the collection its own way passes `items` and reuses the rest;
    `more_summary` adds to the summary what counts and sums cannot say.
    """
    listing = call.spec.listing
    assert listing is not None
    if items is None:
        await call.progress(0, 2, f"fetching {listing.items}")
        items = await call.fetch_list(params)
    await call.progress(1, 2, f"summarising {len(items)} {listing.items}")
    item_model = page_item_model(call.spec.output_model)
    assert item_model is not None  # the catalogue checks list tools' outputs at load
    return await build_page(
        items,
        params,
        item_model,
        count_by=listing.count_by,
        sums=listing.sum,
        sortable=listing.sortable,
        default_sort=listing.default_sort,
        more_summary=more_summary,
        budget_tokens=call.settings.max_output_tokens,
        zone=call.settings.time_zone,
    )


@dataclass(frozen=True)
class CreatedItem:
    """Reconciles a create whose answer was lost: lists the collection just before acting, then looks
    for a new item that matches the arguments (the API has no idempotency keys to ask by)."""

    listed: Callable[[CallScalerClient], Awaitable[list[dict[str, Any]]]]
    matches: Callable[[Any, Mapping[str, Any]], bool]
    result: Callable[[ToolCall, dict[str, Any]], Awaitable[Any]]

    async def snapshot(self, call: ToolCall, params: Any) -> set[str]:
        return {str(item.get("id")) for item in await self.listed(call.api)}

    async def reconcile(self, call: ToolCall, params: Any, before: set[str]) -> Any:
        new = [
            i
            for i in await self.listed(call.api)
            if str(i.get("id")) not in before and self.matches(params, i)
        ]
        return await self.result(call, new[-1]) if new else None


def same_name(params: Any, item: Mapping[str, Any]) -> bool:
    return str(item.get("name", "")).casefold() == str(params.name).casefold()
