"""Fitting a result into the output budget (`--max-output-tokens`), its size taken once.

A result goes out as structuredContent (compact JSON) plus its text rendering: two copies of the same
facts, of which a client passes the model one (Claude Desktop, Claude Code and most others the text;
some the structured copy instead). So the budget bounds each copy on its own: a result's size is the
larger of the two, exactly counted (o200k), and the structured copy never halves what the text may
show. What fits is sent as measured, so no result is rendered or counted twice. A list that does not
fit is built again, smaller in proportion to how far over it was, until it fits.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from cs_mcp.rendering import render
from cs_mcp.token_count import count_tokens

ModelT = TypeVar("ModelT", bound=BaseModel)

# For sizing a cut of one long text before anything is counted (the result is measured after): o200k
# averages 3.3-4 characters a token on these texts, so 3.0 leaves room.
CHARS_PER_TOKEN = 3.0


@dataclass(frozen=True)
class Measured(Generic[ModelT]):
    """A result as it is sent (structuredContent and text) and its size: the o200k token count of the
    larger copy."""

    model: ModelT
    structured: dict[str, Any]
    text: str
    tokens: int


def measure(model: ModelT) -> Measured[ModelT]:
    structured = model.model_dump(mode="json", exclude_none=True)
    text = render(model)
    # As the transports write it: compact, UTF-8 (not \u-escaped).
    wire = json.dumps(structured, separators=(",", ":"), ensure_ascii=False)
    return Measured(model, structured, text, max(count_tokens(wire), count_tokens(text)))


def smaller(size: int, tokens: int, budget: int) -> int:
    """The next size to try after `size` items came to `tokens`, over `budget`: in proportion, with
    room for what does not shrink with the page (summary, groups), and always smaller."""
    return max(0, min(size - 1, int(size * budget / tokens * 0.9)))


def fit(budget: int, size: int, build: Callable[[int], ModelT]) -> Measured[ModelT]:
    """`build(size)` measured, with size shrunk until it fits the budget (or is down to one)."""
    measured = measure(build(size))
    while measured.tokens > budget and size > 1:
        size = max(1, smaller(size, measured.tokens, budget))
        measured = measure(build(size))
    return measured


async def fit_budget(budget: int, size: int, build: Callable[[int], Awaitable[ModelT]]) -> Measured[ModelT]:
    """`fit` for a build that awaits (a page asked of the API again at each size)."""
    measured = measure(await build(size))
    while measured.tokens > budget and size > 1:
        size = max(1, smaller(size, measured.tokens, budget))
        measured = measure(await build(size))
    return measured


def text_room(budget: int, reserve_tokens: int = 600) -> int:
    """Characters one long text may take in a result (each copy of the result holds it once)."""
    return max(200, int((budget - reserve_tokens) * CHARS_PER_TOKEN))


def clip(text: str | None, limit: int) -> tuple[str | None, bool]:
    """`text` cut to `limit` characters at a word boundary, and whether it was cut."""
    if text is None or len(text) <= limit:
        return text, False
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut + " …", True
