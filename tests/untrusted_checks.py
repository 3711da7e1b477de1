"""Checks shared by the untrusted-text tests, written from the corpus fixture, not from cs_mcp's code:
what the text rendering fences, and whether any smuggling character survived."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

FENCE_OPEN, FENCE_CLOSE = "⟦untrusted: ", "⟧"
CORPUS_PATH = Path(__file__).parent / "fixtures" / "smuggling_corpus.json"
EMOJI_STYLE, JOINER, KEYCAP = "\ufe0f", "\u200d", "\u20e3"


@cache
def corpus() -> dict[str, Any]:
    return json.loads(CORPUS_PATH.read_text(encoding="ascii"))


@cache
def _forbidden() -> frozenset[int]:
    ranges = corpus()["forbidden_ranges"]
    return frozenset(c for low, high in ranges for c in range(low, high + 1))


def fenced_parts(text: str) -> list[str]:
    """What the rendering fences, asserting every fence is whole: no fence bracket outside a marker,
    none inside a fence, and every opened fence closed."""
    parts, rest = [], text
    while FENCE_OPEN in rest:
        before, _, rest = rest.partition(FENCE_OPEN)
        assert not set(before) & set(corpus()["fence_lookalikes"]), f"a stray fence bracket in {before!r}"
        inside, closed, rest = rest.partition(FENCE_CLOSE)
        assert closed, f"a fence never closed: {inside!r}"
        assert not set(inside) & set(corpus()["fence_lookalikes"]), f"a fence bracket inside {inside!r}"
        parts.append(inside)
    assert not set(rest) & set(corpus()["fence_lookalikes"]), f"a stray fence bracket in {rest!r}"
    return parts


def _emoji_use(text: str, index: int) -> bool:
    """Whether the selector or joiner at `index` is doing an emoji's job (so it carries nothing)."""
    ch = text[index]
    before = text[index - 1] if index else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    if ch == EMOJI_STYLE:
        return (before and unicodedata.category(before) == "So") or (before.isdigit() and after == KEYCAP)
    return (
        ch == JOINER
        and bool(before and after)
        and (before == EMOJI_STYLE or unicodedata.category(before) in ("So", "Sk"))
        and unicodedata.category(after) == "So"
    )


def smuggled(text: str, *, line_breaks: bool = False) -> list[str]:
    """The characters in `text` that hide or smuggle content (as U+XXXX), emoji's own uses excepted."""
    found = []
    for index, ch in enumerate(text):
        if line_breaks and ch == "\n":
            continue
        hidden = ord(ch) in _forbidden() or unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cn", "Cs")
        if hidden and not (ch in (EMOJI_STYLE, JOINER) and _emoji_use(text, index)):
            found.append(f"U+{ord(ch):04X}")
    return found


def strings_in(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)
