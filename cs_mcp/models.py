"""Types shared by every toolset's input and output models.

Inputs are strict (`extra="forbid"`, constrained types) so a model's mistake is caught before any
request is sent. Models of API objects are lenient (extra fields kept, optional fields may be missing)
because the live API's shapes are only partly documented.
"""

from __future__ import annotations

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
)

E164_PATTERN = r"^\+[1-9][0-9]{7,14}$"

Phone = Annotated[
    str,
    BeforeValidator(
        lambda v: (
            v.replace(" ", "").replace("-", "").replace("(", "").replace(")", "") if isinstance(v, str) else v
        )
    ),
    StringConstraints(pattern=E164_PATTERN),
    WithJsonSchema({"type": "string", "pattern": E164_PATTERN}),
]
Id = Annotated[UUID, WithJsonSchema({"type": "string", "format": "uuid"})]
Day = Annotated[date, WithJsonSchema({"type": "string", "format": "date"})]
# Every date range is spelled `since` (inclusive) and `before` (exclusive), as the server instructions
# say once; these carry the API's own names for the endpoints that call them start_date and end_date.
SinceDate = Annotated[Day | None, Field(serialization_alias="start_date")]
BeforeDate = Annotated[Day | None, Field(serialization_alias="end_date")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


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
    """Base of every tool's arguments: unknown arguments are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, arbitrary_types_allowed=True)


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
