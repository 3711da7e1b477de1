"""Keeping the API key (and the HTTP bearer token) out of every output, log line and exception.

`redact` is the one function every exit applies: tool results and errors (cs_mcp/server.py),
resources and prompts (`redacted`), exception messages (cs_mcp/errors.py), logs (`RedactingFilter`)
and the audit log. It masks anything shaped like a CallScaler key, and any run of 8 or more characters
of a registered secret, whatever its shape and case: an API that echoes the key minus a few characters
still gives most of it away.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

# Anything shaped like a CallScaler key is masked, not only the configured one: an API error body or a
# user's argument could echo another key.
_KEY_PATTERN = re.compile(r"cs_key_[A-Za-z0-9_\-]+")
# The sandbox's keys are published (SPEC); the pattern still masks them whole, but their pieces are
# ordinary words (`sandbox_`, `_manager`) that masking would garble output for and protect nothing.
_PUBLISHED_KEY = re.compile(r"cs_key_sandbox_[a-z]+")
# A run this long is "long enough to matter": it narrows a random key's search space by 8 characters.
PIECE = 8
MASK = "********"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# Every PIECE-character window of every registered secret, lower-cased. Any longer run of a secret is
# a chain of these windows, so finding the windows finds every run.
_pieces: set[str] = set()
# A secret's anchors: its ANCHOR-character runs at every STRIDE-th position. Every window of PIECE
# characters of a secret holds one whole (the first that starts in it: STRIDE + ANCHOR - 1 = PIECE), so
# a scan finds the anchors (a quarter as many `find`s as windows) and looks up windows only around them.
STRIDE = 4
ANCHOR = PIECE - STRIDE + 1
_anchors: set[str] = set()


def _fold(text: str) -> str:
    """`text` lower-cased without changing its length, so positions in it are positions in `text`."""
    folded = text.lower()
    return folded if len(folded) == len(text) else text.translate(_ASCII_LOWER)


def _register(value: str) -> None:
    if len(value) >= PIECE and not _PUBLISHED_KEY.fullmatch(value):
        folded = _fold(value)
        _pieces.update(folded[i : i + PIECE] for i in range(len(folded) - PIECE + 1))
        _anchors.update(folded[i : i + ANCHOR] for i in range(0, len(folded) - ANCHOR + 1, STRIDE))


class Secret:
    """A string that never shows itself: `str`, `repr` and formatting all give a mask."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        _register(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _secret_spans(text: str) -> list[tuple[int, int]]:
    """Where runs of a registered secret are in `text`, merged: one C-speed `find` scan per anchor, so a
    result costs (anchors x its length), not a Python loop per character or per substring. A window
    holds its anchor fewer than STRIDE characters in, so the windows to look up start there."""
    if not _pieces:
        return []
    folded = _fold(text)
    hits: set[int] = set()
    for anchor in _anchors:
        at = folded.find(anchor)
        while at != -1:
            hits.update(
                start
                for start in range(max(0, at - STRIDE + 1), at + 1)
                if folded[start : start + PIECE] in _pieces
            )
            at = folded.find(anchor, at + 1)
    spans: list[tuple[int, int]] = []
    for start in sorted(hits):
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], start + PIECE)
        else:
            spans.append((start, start + PIECE))
    return spans


def contains_secret(text: str) -> bool:
    return bool(_secret_spans(text)) or _KEY_PATTERN.search(text) is not None


def redact(text: str) -> str:
    """Mask every run of 8+ characters of a registered secret and anything shaped like an API key."""
    spans = _secret_spans(text)
    if spans:
        parts, end = [], 0
        for start, stop in spans:
            parts += [text[end:start], MASK]
            end = stop
        text = "".join(parts) + text[end:]
    return _KEY_PATTERN.sub("cs_key_" + MASK, text)


Exit = TypeVar("Exit", bound=Callable[..., Awaitable[Any]])


def _redacted_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


def redacted(function: Exit) -> Exit:
    """An async `function` with its text result and its exception's messages redacted: for the exits
    that do not go through a tool result (resources, prompts)."""

    @functools.wraps(function)
    async def exit_point(*args: Any, **kwargs: Any) -> Any:
        try:
            return _redacted_value(await function(*args, **kwargs))
        except Exception as exc:
            exc.args = tuple(_redacted_value(arg) for arg in exc.args)
            raise

    return exit_point  # type: ignore[return-value]


class RedactingFilter(logging.Filter):
    """Logging filter that masks secrets in the final message and in any traceback it carries."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when set, so the traceback they print is this redacted one.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
