"""CSV exports as tool results: the file kept and linked as an MCP resource, and, inline, a summary of
every row and the first rows, typed by the list's item model so untrusted cells (a caller's name) are
fenced as anywhere else. Many assistants can read only what a tool returns, so the inline part answers
on its own; it is a preview, not the file, so both copies of it together stay within EXPORT_TOKENS (or
the output budget, if smaller) whatever the file's size. The newest few exports are kept for an hour.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from mcp_types import CallToolResult, ResourceLink, TextContent
from pydantic import BaseModel, Field

from cs_mcp.budget import fit
from cs_mcp.listing import project
from cs_mcp.models import LazyModel

EXPORT_URI_PREFIX = "callscaler://exports/"
KEEP_SECONDS = 3600
# The whole inline answer (text and structured copies together): a summary and the first rows to see
# what the file holds. Anything more is a question for the file, or for a list's summary and group_by.
EXPORT_TOKENS = 2000
# What the resource link beside the result costs, held back from the budget of the result itself.
LINK_TOKENS = 60
MAX_FIRST_ROWS = 100  # a page's most
RowT = TypeVar("RowT", bound=BaseModel)


# Keeps an export's text under its name, for the caller who made it (see Guardrails.keep_export).
KeepExport = Callable[[str, str], Awaitable[None]]


class CsvExport(LazyModel, Generic[RowT]):
    rows: int = Field(description="rows in the file (its header apart)")
    columns: list[str]
    summary: dict[str, Any] = Field(description="computed over every row")
    resource_uri: str = Field(description="the whole file: read this resource (kept one hour)")
    first_rows: list[RowT] = Field(description="the file's first rows, as many as fit")
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
    """The export kept as `callscaler://exports/<stem>-<digest>.csv` and linked, with its summary and as
    many first rows as fit min(EXPORT_TOKENS, `budget`), both copies counted together."""
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
            note = (
                f"the first {size} of {len(rows)} rows are shown; the summary covers every row, and the "
                f"whole file is the resource {uri}"
            )
        return CsvExport[row_model](  # type: ignore[valid-type]
            rows=len(rows), columns=columns, summary=summarised, resource_uri=uri, first_rows=shown, note=note
        )

    room = min(EXPORT_TOKENS, budget) - LINK_TOKENS
    measured = fit(room, min(len(rows), MAX_FIRST_ROWS), first, fewest=0, together=True)
    link = ResourceLink(type="resource_link", uri=uri, name=name, mime_type="text/csv", size=len(content))
    return CallToolResult(
        content=[TextContent(type="text", text=measured.text), link], structured_content=measured.structured
    )
