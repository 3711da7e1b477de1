"""CSV exports as tool results; those too large for one are kept in memory and served as MCP resources.

Two shapes today (to be unified): `csv_result` (numbers) attaches a CSV that fits the output budget
whole, and otherwise links it with its header and first rows inline, because many assistants can only
read what a tool returns; `export_result` (calls, whose cells carry callers' words) always links the file
and carries a summary and the first rows typed by the list's item model, so untrusted cells are fenced.
The newest few exports are kept for an hour.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from mcp_types import CallToolResult, EmbeddedResource, ResourceLink, TextContent, TextResourceContents
from pydantic import BaseModel, Field

from cs_mcp.budget import fit, smaller
from cs_mcp.listing import project
from cs_mcp.token_count import count_tokens, within

EXPORT_URI_PREFIX = "callscaler://exports/"
KEEP_SECONDS = 3600
# What the resource link beside the result costs, held back from the budget of the result itself.
LINK_TOKENS = 60
MAX_FIRST_ROWS = 100  # a page's most: more rows than that is a question for the file or a summary
RowT = TypeVar("RowT", bound=BaseModel)


# Keeps an export's text under its name, for the caller who made it (see Guardrails.keep_export).
KeepExport = Callable[[str, str], Awaitable[None]]


# --- A CSV export as a tool result ---------------------------------------------------------------------
# Shared by the export tools (export_calls_csv; export_numbers_csv can adopt it): the file is kept and
# linked, and the result carries a summary of every row and as many first rows as fit the output budget,
# typed by the list's item model so untrusted cells (a caller's name) are fenced like anywhere else.


class CsvExport(BaseModel, Generic[RowT]):
    rows: int = Field(description="rows in the file (its header apart)")
    columns: list[str]
    summary: dict[str, Any] = Field(description="computed over every row")
    resource_uri: str = Field(description="the whole file: read this resource (kept one hour)")
    first_rows: list[RowT] = Field(description="the file's first rows, as many as fit the output budget")
    note: str | None = Field(None, exclude=True)  # advice, in the text only (as Page.note)


def csv_rows(text: str) -> tuple[list[str], list[dict[str, Any]]]:
    """The header and the rows of a CSV file; an empty cell is a missing value (None)."""
    reader = csv.DictReader(io.StringIO(text))
    rows = [{key: value if value != "" else None for key, value in row.items()} for row in reader]
    return list(reader.fieldnames or ()), rows


async def export_result(
    keep: KeepExport,
    content: bytes,
    *,
    stem: str,
    row_model: type[RowT],
    summary: Callable[[list[dict[str, Any]]], dict[str, Any]],
    budget: int,
) -> CallToolResult:
    """The export kept as `callscaler://exports/<stem>-<digest>.csv` and linked, with its summary and first rows.

    The whole file never goes into the conversation: a client reads the link on demand. What does go in
    (the summary, the rows that fit) is measured like any result and kept within `budget`.
    """
    text = content.decode("utf-8", errors="replace")
    columns, rows = csv_rows(text)
    # Named by content: the same export asked again is the same resource, and answers the same.
    name = f"{stem}-{hashlib.sha256(content).hexdigest()[:16]}.csv"
    await keep(name, text)
    uri = EXPORT_URI_PREFIX + name
    summarised = summary(rows)

    def first(size: int) -> CsvExport[RowT]:
        shown = [row_model.model_validate(project(row, row_model, None)) for row in rows[:size]]
        note = None
        if size < len(rows):
            note = f"the first {size} of {len(rows)} rows are shown; the whole file is {uri}"
        return CsvExport[row_model](  # type: ignore[valid-type]
            rows=len(rows), columns=columns, summary=summarised, resource_uri=uri, first_rows=shown, note=note
        )

    measured = fit(budget - LINK_TOKENS, min(len(rows), MAX_FIRST_ROWS), first)
    link = ResourceLink(type="resource_link", uri=uri, name=name, mime_type="text/csv", size=len(content))
    return CallToolResult(
        content=[TextContent(type="text", text=measured.text), link], structured_content=measured.structured
    )


class CsvFile(BaseModel):
    rows: int
    columns: list[str]
    summary: dict[str, Any] = Field(description="over every row")
    resource_uri: str
    shown_rows: int | None = Field(None, description="rows in preview, when the whole CSV is over the budget")
    preview: str | None = Field(None, description="the CSV's header and first rows")


def _wire(structured: dict[str, Any]) -> str:
    return json.dumps(structured, separators=(",", ":"), ensure_ascii=False)


async def csv_result(
    keep: KeepExport,
    kind: str,
    text: str,
    summarise: Callable[[list[dict[str, str]]], dict[str, Any]],
    budget: int,
) -> CallToolResult:
    """An export of `kind` (e.g. "numbers") as a tool result within `budget` tokens: attached whole
    when it fits, else kept and linked, with its first rows inline (see the module's docstring)."""
    rows = list(csv.DictReader(io.StringIO(text)))
    lines = text.splitlines()
    columns = list(rows[0].keys()) if rows else next(csv.reader(io.StringIO(text)), [])
    name = f"{kind}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}.csv"
    uri = f"{EXPORT_URI_PREFIX}{name}"
    export = CsvFile(rows=len(rows), columns=columns, summary=summarise(rows), resource_uri=uri)
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
    await keep(name, text)
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
