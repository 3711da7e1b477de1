"""The shapes of the API's answers that several resources share: lists, public views, audio."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from cs_mcp.sandbox.formats import silent_mp3

# Fields kept in the state for the sandbox's own use, never shown as such.
INTERNAL_FIELDS = frozenset({"versions", "number_ids", "submissions"})


def listing(key: str, items: list[Any]) -> dict[str, Any]:
    return {key: items, "total": len(items)}


def public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in INTERNAL_FIELDS}


def audio(seconds: int) -> Response:
    """A recording: silent, as long as the call or voicemail."""
    return Response(silent_mp3(seconds), media_type="audio/mpeg")
