"""Types shared by every toolset's input and output models.

Inputs are strict (`extra="forbid"`, constrained types) so a model's mistake is caught before any
request is sent. Models of API objects are lenient (extra fields kept, optional fields may be missing)
because the live API's shapes are only partly documented.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import cache
from typing import Annotated, Any, get_args
from uuid import UUID

from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
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


# Control, format (zero-width, bidi overrides), private-use and unassigned characters can hide
# instructions from a human reviewer while a model still reads them.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cn", "Cs"})
# The server instructions say what the mark means, once per session rather than once per field.
UNTRUSTED_NOTE = "untrusted"


def clean_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    kept = (ch for ch in value if ch in "\n\t" or unicodedata.category(ch) not in _DROPPED_CATEGORIES)
    return " ".join("".join(kept).split())


UntrustedText = Annotated[
    str,
    BeforeValidator(clean_text),
    Untrusted(),
    WithJsonSchema({"type": "string", "description": UNTRUSTED_NOTE}),
]


@cache  # asked for every field of every rendered result; models don't change
def is_untrusted(model: type[BaseModel], field: str) -> bool:
    info = model.model_fields.get(field)
    if info is None:
        return False
    # An optional field (`UntrustedText | None`) keeps the marker on its union member, not on the field.
    metadata = [
        *info.metadata,
        *(m for arg in get_args(info.annotation) for m in getattr(arg, "__metadata__", ())),
    ]
    return any(isinstance(m, Untrusted) for m in metadata)


class ToolInput(ArgModelBase):
    """Base of every tool's arguments: unknown arguments are an error, not silently dropped.

    `null` for an argument means "not given", as models and clients often send it: the default applies,
    and a required argument is reported missing. Numbers are accepted where text is asked
    (`area_code=813` arrives as an integer from `cs-mcp call` and the Inspector's `--tool-arg`).
    """

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True, arbitrary_types_allowed=True
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
    """An object as the API returns it: unknown fields kept, missing optional ones tolerated."""

    model_config = ConfigDict(extra="allow")


def not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


SmsBody = Annotated[str, StringConstraints(min_length=1, max_length=1600), AfterValidator(not_blank)]

__all__ = [
    "UNTRUSTED_NOTE",
    "ApiObject",
    "BeforeDate",
    "Day",
    "Field",
    "Id",
    "Name",
    "Phone",
    "SinceDate",
    "SmsBody",
    "ToolInput",
    "UntrustedText",
    "clean_text",
    "is_untrusted",
]
