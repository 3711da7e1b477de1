"""CSV exports as tool results, and those too large for one kept in memory and served as resources.

An export that fits the output budget is attached whole (an embedded resource). One that does not is
kept and linked as `callscaler://exports/<name>`, for a client that reads resources; and because many
assistants can only read what a tool returns, the result still carries the CSV's header and as many
first rows as fit, with the summary of every row. The newest few exports are kept for an hour.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from mcp_types import CallToolResult, EmbeddedResource, ResourceLink, TextContent, TextResourceContents
from pydantic import BaseModel, Field

from cs_mcp.budget import smaller
from cs_mcp.token_count import count_tokens, within

EXPORT_URI_PREFIX = "callscaler://exports/"
KEEP_SECONDS = 3600
KEEP_AT_MOST = 20


class ExportStore:
    def __init__(self) -> None:
        self._items: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def keep(self, name: str, content: str) -> None:
        self._items[name] = (time.monotonic() + KEEP_SECONDS, content)
        while len(self._items) > KEEP_AT_MOST:
            self._items.popitem(last=False)

    def get(self, name: str) -> str | None:
        now = time.monotonic()
        for stale in [key for key, (expires, _) in self._items.items() if expires <= now]:
            del self._items[stale]
        item = self._items.get(name)
        return item[1] if item else None


# One per process: an export made by one MCP session can be read by the client that asked for it
# whichever connection it reads on. Names carry a timestamp, and the data is the caller's own account.
EXPORTS = ExportStore()


class CsvExport(BaseModel):
    rows: int
    columns: list[str]
    summary: dict[str, Any] = Field(description="over every row")
    resource_uri: str
    shown_rows: int | None = Field(None, description="rows in preview, when the whole CSV is over the budget")
    preview: str | None = Field(None, description="the CSV's header and first rows")


def _wire(structured: dict[str, Any]) -> str:
    return json.dumps(structured, separators=(",", ":"), ensure_ascii=False)


def csv_result(
    kind: str, text: str, summarise: Callable[[list[dict[str, str]]], dict[str, Any]], budget: int
) -> CallToolResult:
    """An export of `kind` (e.g. "numbers") as a tool result within `budget` tokens: attached whole
    when it fits, else kept and linked, with its first rows inline (see the module's docstring)."""
    rows = list(csv.DictReader(io.StringIO(text)))
    lines = text.splitlines()
    columns = list(rows[0].keys()) if rows else next(csv.reader(io.StringIO(text)), [])
    name = f"{kind}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}.csv"
    uri = f"{EXPORT_URI_PREFIX}{name}"
    export = CsvExport(rows=len(rows), columns=columns, summary=summarise(rows), resource_uri=uri)
    note = f"Exported {export.rows} {kind} as CSV ({', '.join(columns)})"
    structured = export.model_dump(mode="json", exclude_none=True)
    if within(text, budget - count_tokens(note) - count_tokens(_wire(structured))):
        attached = EmbeddedResource(
            type="resource", resource=TextResourceContents(uri=uri, mime_type="text/csv", text=text)
        )
        return CallToolResult(
            content=[TextContent(type="text", text=f"{note}; attached as {uri}."), attached],
            structured_content=structured,
        )
    EXPORTS.keep(name, text)
    link = ResourceLink(
        type="resource_link", uri=uri, name=name, mime_type="text/csv", size=len(text.encode())
    )
    # A CSV line per row (a quoted field could span lines: then fewer rows show, never a broken one).
    shown = len(rows) if len(lines) == len(rows) + 1 else 0
    while True:
        preview = "\n".join(lines[: shown + 1])
        export.shown_rows, export.preview = shown, preview
        structured = export.model_dump(mode="json", exclude_none=True)
        message = (
            f"{note}; too large for the output budget, so the first {shown} rows are below and the whole "
            f"CSV is linked as {uri} (read the resource for the rest).\n{preview}"
        )
        tokens = max(count_tokens(message), count_tokens(_wire(structured)))
        if tokens <= budget or shown == 0:
            break
        shown = smaller(shown, tokens, budget)
    return CallToolResult(
        content=[TextContent(type="text", text=message), link], structured_content=structured
    )
