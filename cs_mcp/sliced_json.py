"""JSON decoding that gives the event loop a turn every few milliseconds, for answers too big to decode in
one go: `GET /voicemails` at scale 100 is ~10 MB, ~110 ms of `json.loads` during which no other request
on the server is served.

A thread would not help: the C decoder holds the GIL for the whole document. So the outer containers (the
envelope, `data`, the list of items) are walked here, and each value inside them, an item, is decoded by
the C decoder in one call; between values, once `slice_seconds` have passed, the loop gets a turn. The
result is what `json.loads` returns for the same text, and malformed text raises `json.JSONDecodeError`.
"""

from __future__ import annotations

import codecs
import json
import re
import time
from collections.abc import Callable
from typing import Any

import anyio

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_WHITESPACE_CHARS = frozenset(" \t\n\r")
# The C scanner (typeshed omits it): (value, end) from a position, StopIteration where no value starts.
_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
# Containers walked here: the envelope, `data`, and the list of items inside it. Deeper ones are items.
SPREAD_DEPTH = 3
DECODE_SLICE_BYTES = 512 * 1024  # bytes decoded to text between turns (~1 ms)


async def loads(document: str | bytes, *, slice_seconds: float = 0.002) -> Any:
    """`json.loads(document)`, the event loop getting a turn every `slice_seconds`."""
    text = document if isinstance(document, str) else await _text(document)
    reader = _Reader(text, slice_seconds)
    value = await reader.value(SPREAD_DEPTH)
    reader.skip_whitespace()
    if reader.pos != len(text):
        raise json.JSONDecodeError("Extra data", text, reader.pos)
    return value


async def _text(content: bytes) -> str:
    """The body as text, in the encoding JSON's first bytes tell (`json.loads` reads bytes so), decoded
    a slice at a time: ~10 MB with non-ASCII names is 10-25 ms of decoding in one go."""
    decoder = codecs.getincrementaldecoder(json.detect_encoding(content))("surrogatepass")
    whole = memoryview(content)
    parts = []
    for start in range(0, len(content), DECODE_SLICE_BYTES):
        if start:
            await anyio.sleep(0)
        parts.append(decoder.decode(whole[start : start + DECODE_SLICE_BYTES]))
    parts.append(decoder.decode(b"", final=True))
    return "".join(parts)


class _Reader:
    def __init__(self, text: str, slice_seconds: float) -> None:
        self.text = text
        self.pos = 0
        self.slice_seconds = slice_seconds
        self.turn_due = time.perf_counter() + slice_seconds

    def skip_whitespace(self) -> None:
        if self.text[self.pos : self.pos + 1] in _WHITESPACE_CHARS:  # compact JSON has none: no regex then
            self.pos = _WHITESPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def expect(self, char: str, message: str) -> None:
        self.skip_whitespace()
        if self.text[self.pos : self.pos + 1] != char:
            raise json.JSONDecodeError(message, self.text, self.pos)
        self.pos += 1

    async def take_turn(self) -> None:
        await anyio.sleep(0)  # let the loop serve whatever else is waiting
        self.turn_due = time.perf_counter() + self.slice_seconds

    def leaf(self) -> Any:
        """One value decoded whole by the C decoder."""
        self.skip_whitespace()
        try:
            value, self.pos = _SCAN(self.text, self.pos)
        except StopIteration as exc:
            raise json.JSONDecodeError("Expecting value", self.text, exc.value) from None
        return value

    async def value(self, depth: int) -> Any:
        self.skip_whitespace()
        opening = self.text[self.pos : self.pos + 1]
        if depth and opening == "{":
            return await self.object(depth - 1)
        if depth and opening == "[":
            return await self.array(depth - 1)
        if time.perf_counter() >= self.turn_due:
            await self.take_turn()
        return self.leaf()

    async def object(self, depth: int) -> dict[str, Any]:
        self.pos += 1
        members: dict[str, Any] = {}
        self.skip_whitespace()
        if self.text[self.pos : self.pos + 1] == "}":
            self.pos += 1
            return members
        while True:
            self.skip_whitespace()
            if self.text[self.pos : self.pos + 1] != '"':
                raise json.JSONDecodeError(
                    "Expecting property name enclosed in double quotes", self.text, self.pos
                )
            key = self.leaf()  # a string, as it starts with a quote
            self.expect(":", "Expecting ':' delimiter")
            members[key] = await self.value(depth)
            if self.closes("}"):
                return members

    async def array(self, depth: int) -> list[Any]:
        self.pos += 1
        self.skip_whitespace()
        if self.text[self.pos : self.pos + 1] == "]":
            self.pos += 1
            return []
        if not depth:
            return await self.items()
        elements: list[Any] = []
        while True:
            elements.append(await self.value(depth))
            if self.closes("]"):
                return elements

    async def items(self) -> list[Any]:
        """A list's elements, each decoded whole: the loop that runs once per item, kept tight (a method
        call per item would cost half as much again as the decoding)."""
        text, scan, clock, items = self.text, _SCAN, time.perf_counter, []
        pos = self.pos
        while True:
            if clock() >= self.turn_due:
                await self.take_turn()
            if text[pos : pos + 1] in _WHITESPACE_CHARS:
                pos = _WHITESPACE.match(text, pos).end()  # type: ignore[union-attr]
            try:
                item, pos = scan(text, pos)
            except StopIteration as exc:
                raise json.JSONDecodeError("Expecting value", text, exc.value) from None
            items.append(item)
            char = text[pos : pos + 1]
            if char == ",":
                pos += 1
            elif char == "]":
                self.pos = pos + 1
                return items
            else:
                self.pos = pos
                if self.closes("]"):  # whitespace before the comma or bracket, or malformed
                    return items
                pos = self.pos

    def closes(self, closing: str) -> bool:
        """After a member: True at the container's end, False at a comma; anything else is malformed."""
        self.skip_whitespace()
        char = self.text[self.pos : self.pos + 1]
        if char not in (closing, ","):
            raise json.JSONDecodeError("Expecting ',' delimiter", self.text, self.pos)
        self.pos += 1
        return char == closing
