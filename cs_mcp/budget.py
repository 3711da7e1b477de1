"""Fitting a result into the output budget (`--max-output-tokens`), its size taken once.

A result goes out as structuredContent (compact JSON) plus its text rendering: two copies of the same
facts, of which a client passes the model one. Claude Desktop, Claude Code, Cursor and most others pass
the text (the content blocks); a client that supports structured output may pass structuredContent
instead; passing both is double-feeding, which clients avoid. So the budget counts the copy a client
passes, whichever it is: a result's size is the larger of the two, exactly counted (o200k), and no
client is passed more than the budget. Counting both together would halve every page for the sake of a
copy the model does not see: the structured copy would crowd out items. What fits is sent as measured,
so no result is rendered or counted twice. A list that does not fit is built again, smaller in
proportion to how far over it was, until it fits.

Counting is needed only where a copy could be over: no copy has more tokens than UTF-8 bytes, so a
result whose copies are no longer in bytes than the budget fits without being counted (a preview, a
write's outcome, a flow outline, most answers), and the rest are counted exactly, once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from cs_mcp.rendering import render
from cs_mcp.token_count import count_tokens, utf8_length

ModelT = TypeVar("ModelT", bound=BaseModel)

# For sizing a cut of one long text before anything is counted (the result is measured after): o200k
# averages 3.3-4 characters a token on these texts, so 3.0 leaves room.
CHARS_PER_TOKEN = 3.0


@dataclass(frozen=True)
class Measured(Generic[ModelT]):
    """A result as it is sent (structuredContent, as the JSON counted, and text) and its size: the o200k
    token count of the larger copy (what the budget counts), and of both copies together, each counted
    the first time it is asked for. `fits` asks only where the copies' lengths leave it open."""

    model: ModelT
    structured: dict[str, Any]
    wire: str
    text: str

    @cached_property
    def _counts(self) -> tuple[int, int]:
        return count_tokens(self.wire), count_tokens(self.text)

    @property
    def tokens(self) -> int:
        return max(self._counts)

    @property
    def together(self) -> int:
        return sum(self._counts)

    def fits(self, budget: int, *, together: bool = False) -> bool:
        """Whether the larger copy (`together`: both copies) is within `budget` tokens."""
        if fits_uncounted(self.wire, self.text, budget, together=together):
            return True
        return (self.together if together else self.tokens) <= budget


def fits_uncounted(wire: str, text: str, budget: int, *, together: bool = False) -> bool:
    """Whether a result's copies fit `budget` by their UTF-8 lengths alone, no o200k token being shorter
    than a byte (False: only a count can tell)."""
    lengths = utf8_length(wire), utf8_length(text)
    return (sum(lengths) if together else max(lengths)) <= budget


def measure(model: ModelT) -> Measured[ModelT]:
    structured = model.model_dump(mode="json", exclude_none=True)
    text = render(model, structured)
    # As the transports write it (pydantic's serialiser: compact, UTF-8, not \u-escaped).
    wire = model.model_dump_json(exclude_none=True)
    return Measured(model, structured, wire, text)


def smaller(size: int, tokens: int, budget: int) -> int:
    """The next size to try after `size` items came to `tokens`, over `budget`: in proportion, with
    room for what does not shrink with the page (summary, groups), and always smaller."""
    return max(0, min(size - 1, int(size * budget / tokens * 0.9)))


def fit(
    budget: int,
    size: int,
    build: Callable[[int], ModelT],
    *,
    fewest: int = 1,
    together: bool = False,
) -> Measured[ModelT]:
    """`build(size)` measured, with size shrunk until it fits the budget (or is down to `fewest`);
    `together`: both copies counted together, for a part of a result held to a budget of its own."""

    measured = measure(build(size))
    while not measured.fits(budget, together=together) and size > fewest:
        size = max(fewest, smaller(size, measured.together if together else measured.tokens, budget))
        measured = measure(build(size))
    return measured


async def fit_budget(budget: int, size: int, build: Callable[[int], Awaitable[ModelT]]) -> Measured[ModelT]:
    """`fit` for a build that awaits (a page asked of the API again at each size)."""
    measured = measure(await build(size))
    while not measured.fits(budget) and size > 1:
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
