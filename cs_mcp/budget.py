"""Fitting a result into the output budget (`--max-output-tokens`), its size taken once.

A result goes out as structuredContent (compact JSON) plus its text rendering. `measure` makes both and
counts them exactly (o200k); what fits the budget is sent as measured, so no result is rendered or
counted twice. A list that does not fit is built again at half the size until it does.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
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
    """A result as it is sent (structuredContent and text) and its o200k token count."""

    model: ModelT
    structured: dict[str, Any]
    text: str
    tokens: int


def measure(model: ModelT) -> Measured[ModelT]:
    structured = model.model_dump(mode="json", exclude_none=True)
    text = render(model)
    # As the transports write it: compact, UTF-8 (not \u-escaped).
    wire = json.dumps(structured, separators=(",", ":"), ensure_ascii=False)
    return Measured(model, structured, text, count_tokens(wire) + count_tokens(text))


def _halvings(size: int) -> Iterator[int]:
    """size, then half of it, down to 1 (or just `size` when it is 0 or 1)."""
    yield size
    while size > 1:
        size //= 2
        yield size


def fit(budget: int, size: int, build: Callable[[int], ModelT]) -> Measured[ModelT]:
    """`build(size)` measured, with size halved until it fits the budget (or is down to one)."""
    for attempt in _halvings(size):
        measured = measure(build(attempt))
        if measured.tokens <= budget:
            break
    return measured


async def fit_budget(budget: int, size: int, build: Callable[[int], Awaitable[ModelT]]) -> Measured[ModelT]:
    """`fit` for a build that awaits (a page asked of the API again at each size)."""
    for attempt in _halvings(size):
        measured = measure(await build(attempt))
        if measured.tokens <= budget:
            break
    return measured


def text_room(budget: int, reserve_tokens: int = 600) -> int:
    """Characters one long text may take in a result: it appears twice (JSON and text rendering)."""
    return max(200, int((budget - reserve_tokens) * CHARS_PER_TOKEN / 2))


def clip(text: str | None, limit: int) -> tuple[str | None, bool]:
    """`text` cut to `limit` characters at a word boundary, and whether it was cut."""
    if text is None or len(text) <= limit:
        return text, False
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut + " …", True
