"""Answers and how a value read from tool results is held against them.

An exact answer is a plain value (compared with ==, recursively through dicts and lists) or one of
two markers: `Top`, for "which X has the most": any of the keys tied for the top, with the same count;
`Approx`, for a figure the tools state rounded (a percentage or an average to one decimal).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, repr=False)
class Top:
    keys: tuple[Any, ...]  # every key tied for the top
    count: float

    def __repr__(self) -> str:
        return f"{' or '.join(map(str, self.keys))} ({self.count:g})"


@dataclass(frozen=True, repr=False)
class Approx:
    value: float
    within: float = 0.051  # rounding to one decimal, either way

    def __repr__(self) -> str:
        return f"~{self.value:g}"


def top_of(counts: Mapping[Any, float]) -> Top:
    """The top of a tally (empty: no key, count 0)."""
    best = max(counts.values(), default=0)
    return Top(tuple(sorted((k for k, v in counts.items() if v == best), key=str)), best)


def pairs_top(pairs: Iterable[tuple[Any, float]]) -> tuple[Any, float]:
    """(key, count) of the largest count among pairs read from a result."""
    return max(pairs, key=lambda pair: pair[1])


def matches(expected: Any, got: Any) -> bool:
    if isinstance(expected, Top):
        return (
            isinstance(got, tuple)
            and len(got) == 2
            and got[0] in expected.keys
            and matches(expected.count, got[1])
        )
    if isinstance(expected, Approx):
        return isinstance(got, int | float) and abs(got - expected.value) <= expected.within
    if isinstance(expected, Mapping):
        return (
            isinstance(got, Mapping)
            and set(expected) == set(got)
            and all(matches(v, got[k]) for k, v in expected.items())
        )
    if isinstance(expected, list | tuple):
        return (
            isinstance(got, list | tuple) and len(expected) == len(got) and all(map(matches, expected, got))
        )
    if isinstance(expected, bool) or isinstance(got, bool):
        return got is expected
    return bool(expected == got)


def shown(value: Any, width: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"
