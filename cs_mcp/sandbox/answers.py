"""The shapes of the API's answers that several resources share: lists, public views, CSV, audio."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from starlette.responses import Response

from cs_mcp.sandbox.formats import silent_mp3

# Fields kept in the state for the sandbox's own use, never shown as such.
INTERNAL_FIELDS = frozenset({"versions", "number_ids", "submissions"})


def listing(key: str, items: list[Any]) -> dict[str, Any]:
    return {key: items, "total": len(items)}


def public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in INTERNAL_FIELDS}


def csv_file(name: str, columns: Sequence[str], items: Iterable[dict[str, Any]]) -> Response:
    """An export: a header row of `columns`, then one row per item (true/false, and empty for null)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for item in items:
        writer.writerow([_cell(item[column]) for column in columns])
    return Response(
        out.getvalue(), media_type="text/csv", headers={"Content-Disposition": f"attachment; filename={name}"}
    )


def _cell(value: Any) -> Any:
    return str(value).lower() if isinstance(value, bool) else value


def audio(seconds: int) -> Response:
    """A recording: silent, as long as the call or voicemail."""
    return Response(silent_mp3(seconds), media_type="audio/mpeg")
