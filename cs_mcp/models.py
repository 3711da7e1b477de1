"""Types shared by every toolset's input and output models.

Inputs are strict (`extra="forbid"`, constrained types) so a model's mistake is caught before any
request is sent. Models of API objects are lenient (extra fields kept, optional fields may be missing)
because the live API's shapes are only partly documented.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import cache, lru_cache
from typing import Annotated, Any, ClassVar, Self, get_args
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

E164_PATTERN = r"^\+[1-9][0-9]{7,14}$"
# The API's documented limit on every name (numbers, flows, groups, pools); the sandbox enforces it too.
MAX_NAME_LENGTH = 100
_PHONE_PUNCTUATION = re.compile(r"[\s().\-]")
_NATIONAL_US = re.compile(r"1?([2-9][0-9]{9})", re.ASCII)


def as_e164(value: Any) -> Any:
    """A phone number as written by people and command lines, in E.164.

    Punctuation goes; a US number written nationally (10 digits, or 11 starting with 1), as text or as
    an integer, becomes +1XXXXXXXXXX. Anything else is left for the E.164 check to refuse.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return value
    compact = _PHONE_PUNCTUATION.sub("", value)
    national = _NATIONAL_US.fullmatch(compact)
    return "+1" + national.group(1) if national else compact


def _e164(value: str) -> str:
    if not re.fullmatch(E164_PATTERN, value, re.ASCII):
        raise ValueError(
            "must be a phone number in E.164 form such as +18135550100 (a 10-digit US number works too)"
        )
    return value


# The schema publishes the canonical form; national US numbers and integers are accepted as well, for
# people and command lines (`to_number=8135550100`), and arrive at the API as E.164.
Phone = Annotated[
    str,
    BeforeValidator(as_e164),
    AfterValidator(_e164),
    WithJsonSchema({"type": "string", "pattern": E164_PATTERN}),
]
Id = Annotated[UUID, WithJsonSchema({"type": "string", "format": "uuid"})]
Day = Annotated[date, WithJsonSchema({"type": "string", "format": "date"})]
# Every date range is spelled `since` (inclusive) and `before` (exclusive), as the server instructions
# say once; these carry the API's own names for the endpoints that call them start_date and end_date.
SinceDate = Annotated[Day | None, Field(serialization_alias="start_date")]
BeforeDate = Annotated[Day | None, Field(serialization_alias="end_date")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_LENGTH)]


class Untrusted:
    """Marks a field whose text comes from outside the business (callers, texters, form visitors)."""


# The server instructions say what the mark means, once per session rather than once per field.
UNTRUSTED_NOTE = "untrusted"
# How the text rendering fences untrusted data. Inside the data these brackets, and anything a model
# could read as them, are replaced (see _FENCE_LOOKALIKES), so no value can close or open a fence.
UNTRUSTED_OPEN, UNTRUSTED_CLOSE = "⟦untrusted: ", "⟧"

# Control, format (zero-width, bidi, tags), private-use, surrogate and unassigned characters can hide
# instructions from a human reviewer while a model still reads them.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cn", "Cs"})
# Characters that render as nothing (or as blank) but are letters, marks or symbols, so the categories
# miss them: Unicode's Default_Ignorable_Code_Point set (variation selectors, which smuggle a byte
# each, Hangul and Khmer fillers, Mongolian selectors, the grapheme joiner, tags) plus the braille
# blank. Kept as ranges from the Unicode data, not per attack seen.
_INVISIBLE_RANGES = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
_INVISIBLE = frozenset(chr(c) for low, high in _INVISIBLE_RANGES for c in range(low, high + 1))
# Two invisibles that emoji need, kept only where they do that job (so they carry no hidden data):
# the emoji presentation selector once right after a symbol or a keycap base, and the zero-width
# joiner between two emoji (👩‍💻, 🏳️‍🌈).
_EMOJI_STYLE, _JOINER, _KEYCAP = "\ufe0f", "\u200d", "\u20e3"
_KEYCAP_BASES = frozenset("0123456789#*")
# Brackets a model could read as the fence's own: the fence brackets and their look-alikes
# (CJK white/lenticular/tortoise-shell brackets, double angle brackets, fullwidth and vertical forms).
_FENCE_LOOKALIKES = str.maketrans(
    dict.fromkeys("⟦〚⟪⦃⦅｟【〖〘⟬⁅［﹇⸨「『", "[") | dict.fromkeys("⟧〛⟫⦄⦆｠】〗〙⟭⁆］﹈⸩」』", "]")
)


def _keeps_emoji(ch: str, previous: str, following: str) -> bool:
    """Whether an emoji invisible (`ch`, after the kept `previous`, before `following`) does its job."""
    if ch == _EMOJI_STYLE:
        return unicodedata.category(previous or " ") == "So" or (
            previous in _KEYCAP_BASES and following == _KEYCAP
        )
    # A joiner after an emoji (its presentation selector or skin tone included) and before another.
    emoji_before = previous == _EMOJI_STYLE or unicodedata.category(previous or " ") in ("So", "Sk")
    return emoji_before and unicodedata.category(following or " ") == "So"


# ASCII needs only its control characters dropped (not the whitespace, which is collapsed later).
_ASCII_CONTROLS = dict.fromkeys([*(c for c in range(32) if not chr(c).isspace()), 0x7F])


def _is_visible(ch: str) -> bool:
    return ch.isspace() or (ch not in _INVISIBLE and unicodedata.category(ch) not in _DROPPED_CATEGORIES)


def _visible(text: str) -> str:
    if text.isascii():
        return text.translate(_ASCII_CONTROLS)
    kept: list[str] = []
    for index, ch in enumerate(text):
        if _is_visible(ch) or (
            ch in (_EMOJI_STYLE, _JOINER)
            and _keeps_emoji(ch, kept[-1] if kept else "", text[index + 1 : index + 2])
        ):
            kept.append(ch)
    return "".join(kept)


# Finds a look-alike twenty times faster than translating a text without one (str.translate with a
# table goes character by character in Python objects: 0.2 ms for a 3 KB flow outline).
_FENCE_LOOKALIKE = re.compile("[" + re.escape("".join(map(chr, _FENCE_LOOKALIKES))) + "]")


def neutralise_fences(text: str) -> str:
    """`text` with every bracket a model could read as a fence replaced by a plain one."""
    if text.isascii() or _FENCE_LOOKALIKE.search(text) is None:
        return text
    return text.translate(_FENCE_LOOKALIKES)


def clean_text(value: Any) -> Any:
    """Untrusted text as it may reach a model: invisible characters gone, fence brackets neutralised,
    whitespace (line breaks included, so no fake line starts) collapsed to single spaces."""
    if not isinstance(value, str):
        return value
    return " ".join(neutralise_fences(_visible(value)).split())


def clean_value(value: Any) -> Any:
    """`clean_text` applied to every string in a nested value (lists, dict keys and values)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list | tuple):
        return [clean_value(item) for item in value]
    if isinstance(value, dict):
        return {clean_text(key): clean_value(item) for key, item in value.items()}
    return value


def fence(value: Any) -> str:
    """Untrusted data as the text rendering shows it: cleaned (again, so nothing built after validation
    can escape) and fenced."""
    return f"{UNTRUSTED_OPEN}{clean_text(value)}{UNTRUSTED_CLOSE}"


UntrustedText = Annotated[
    str,
    BeforeValidator(clean_text),
    Untrusted(),
    WithJsonSchema({"type": "string", "description": UNTRUSTED_NOTE}),
]


@cache  # asked for every field of every rendered result; models don't change
def _declared_untrusted(model: type[BaseModel]) -> frozenset[str]:
    names = set()
    for name, info in model.model_fields.items():
        # An optional field (`UntrustedText | None`) keeps the marker on its union member, not on the field.
        metadata = [
            *info.metadata,
            *(m for arg in get_args(info.annotation) for m in getattr(arg, "__metadata__", ())),
        ]
        if any(isinstance(m, Untrusted) for m in metadata):
            names.add(name)
    return frozenset(names)


@lru_cache(maxsize=4096)  # asked for every field of every rendered item; bounded: extras' names are the API's
def is_untrusted(model: type[BaseModel], field: str) -> bool:
    """Whether `field` of `model` carries text from outside the business.

    A declared field is untrusted when its type says so (`UntrustedText`); an undeclared one (an
    extra field an API object passes through, or one asked for with `fields=`) is untrusted unless
    the model names it in `trusted_extras`: what nobody looked at is treated as the caller's.
    """
    if field in model.model_fields:
        return field in _declared_untrusted(model)
    return model.model_config.get("extra") == "allow" and field not in getattr(
        model, "trusted_extras", frozenset()
    )


class LazyModel(BaseModel):
    """Base of the models tools/list does not need (results, previews, groups): each builds its validator on
    first use, not at import, so `cs-mcp serve` answers tools/list sooner. Input models do the same
    (`ToolInput`), and are built when their published schema is made."""

    model_config = ConfigDict(defer_build=True)


class ToolInput(BaseModel):
    """Base of every tool's arguments: unknown arguments are an error, not silently dropped.

    `null` for an argument means "not given", as models and clients often send it: the default applies,
    and a required argument is reported missing. Numbers are accepted where text is asked
    (`area_code=813` arrives as an integer from `cs-mcp call` and the Inspector's `--tool-arg`).
    """

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        coerce_numbers_to_str=True,
        arbitrary_types_allowed=True,
        defer_build=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _null_is_not_given(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {
            name: value for name, value in data.items() if value is not None or name not in cls.model_fields
        }


class ApiObject(BaseModel):
    """An object as the API returns it: unknown fields kept, missing optional ones tolerated.

    Unknown (extra) fields are untrusted (see `is_untrusted`) and cleaned here, however deeply they
    nest, unless named in `trusted_extras`: fields this API object is known to carry that hold the
    business's own or the system's data (ids, timestamps, the business's names).
    """

    model_config = ConfigDict(extra="allow", defer_build=True)
    trusted_extras: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _clean_untrusted_extras(self) -> Self:
        if self.__pydantic_extra__:
            self.__pydantic_extra__ = self._cleaned_extras(self.__pydantic_extra__)
        return self

    def _cleaned_extras(self, extra: dict[str, Any]) -> dict[str, Any]:
        cleaned = {}
        for key, value in extra.items():
            if key in self.trusted_extras:
                cleaned[key] = value
                continue
            name = clean_text(key)
            # A name that only cleaning made trusted (`call<ZWSP>_id`) impersonates a field: dropped.
            if name not in self.trusted_extras and name not in type(self).model_fields:
                cleaned[name] = clean_value(value)
        return cleaned


def not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


SmsBody = Annotated[str, StringConstraints(min_length=1, max_length=1600), AfterValidator(not_blank)]

__all__ = [
    "UNTRUSTED_CLOSE",
    "UNTRUSTED_NOTE",
    "UNTRUSTED_OPEN",
    "ApiObject",
    "BeforeDate",
    "Day",
    "Field",
    "Id",
    "LazyModel",
    "Name",
    "Phone",
    "SinceDate",
    "SmsBody",
    "ToolInput",
    "UntrustedText",
    "clean_text",
    "clean_value",
    "fence",
    "is_untrusted",
    "neutralise_fences",
]
