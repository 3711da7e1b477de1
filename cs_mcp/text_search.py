"""Matching free text against a query of words, and the snippet that shows a match in its context.

A query is read as words (punctuation between them is ignored). Each word matches where a word of the
text starts, case-insensitively: "sat" finds "Saturday", "come" finds "comes" but not "become". `any`
wants one of the words, `all` every one of them anywhere, `phrase` all of them in that order with only
spaces or punctuation between. The text is searched as an assistant would be shown it (invisible characters dropped), so
text that hides a word behind a zero-width space is found by that word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from cs_mcp.models import clean_text

MatchMode = Literal["any", "all", "phrase"]
SNIPPET_RADIUS = 60  # characters shown either side of a match
MAX_WORDS = 12
_WORD = re.compile(r"\w+")


class BadQuery(ValueError):
    """A query with nothing to search for."""


@dataclass(frozen=True)
class TextQuery:
    words: tuple[str, ...]
    mode: MatchMode
    patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def parse(cls, query: str, mode: MatchMode = "any") -> TextQuery:
        words = tuple(dict.fromkeys(w.casefold() for w in _WORD.findall(query)))
        if not words:
            raise BadQuery("the query has no words to search for")
        if len(words) > MAX_WORDS:
            raise BadQuery(f"the query has {len(words)} words; use at most {MAX_WORDS}")
        if mode == "phrase":
            in_order = [w.casefold() for w in _WORD.findall(query)]  # repeats count in a phrase
            patterns: tuple[re.Pattern[str], ...] = (
                re.compile(r"(?<!\w)" + r"\W+".join(map(re.escape, in_order)), re.IGNORECASE),
            )
        else:
            patterns = tuple(re.compile(r"(?<!\w)" + re.escape(w), re.IGNORECASE) for w in words)
        return cls(words, mode, patterns)

    def find(self, text: str | None) -> str | None:
        """The snippet around the first match, if `text` (cleaned) matches the query; else None."""
        if not text:
            return None
        text = clean_text(text)
        hits = [pattern.search(text) for pattern in self.patterns]
        found = [hit for hit in hits if hit is not None]
        if not found or (self.mode == "all" and len(found) < len(hits)):
            return None
        first = min(found, key=lambda hit: hit.start())
        return snippet(text, first.start(), first.end())


def snippet(text: str, start: int, end: int, radius: int = SNIPPET_RADIUS) -> str:
    """`text[start:end]` with up to `radius` characters either side, cut at spaces, marked where cut."""
    low, high = max(0, start - radius), min(len(text), end + radius)
    if low > 0 and " " in text[low:start]:
        low = text.index(" ", low) + 1
    if high < len(text) and " " in text[end:high]:
        high = text.rindex(" ", end, high)
    return ("…" if low > 0 else "") + text[low:high].strip() + ("…" if high < len(text) else "")
