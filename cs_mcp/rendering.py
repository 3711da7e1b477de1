"""The compact text rendering of a result, with untrusted data fenced.

Every result goes out twice: as structuredContent and as this text, one `key: value` line per fact and
one line per list item, which is what most assistants read.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import BaseModel

from cs_mcp.models import fence, is_untrusted, neutralise_fences


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_scalar(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(_scalar(v) for v in value)
    return str(value)


@cache  # asked for every field of every item rendered; models don't change
def _untrusted(model: type[BaseModel], name: str) -> bool:
    return is_untrusted(model, name)


def _fields(model: BaseModel, data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """`model`'s facts as (name, shown value), read from `data`, its JSON dump: the model is dumped once,
    at the top, and each nested model is shown from its part of that dump. (A loop, not a generator:
    this runs for every field of every item, and a generator's resumptions cost a third of it.)"""
    kind = type(model)
    facts = []
    for name, value in data.items():
        # Most facts are numbers (nothing in digits to fence, clean or break) or text: shown directly.
        if type(value) is int:
            facts.append((name, str(value)))
        elif type(value) is str:
            facts.append((name, fence(value) if value and _untrusted(kind, name) else _inline(value)))
        else:
            facts.append((name, _shown(model, name, value)))
    return facts


def _shown(model: BaseModel, name: str, value: Any) -> str:
    attribute = getattr(model, name, None)
    if isinstance(attribute, BaseModel):
        return "{" + ", ".join([f"{k}={v}" for k, v in _fields(attribute, value)]) + "}"
    if isinstance(attribute, list) and attribute and isinstance(attribute[0], BaseModel):
        return f"[{len(attribute)} items]"
    if _untrusted(type(model), name) and _has_text(value):
        return fence(_scalar(value))
    return _inline(_scalar(value))


def _inline(text: str) -> str:
    """A trusted value in the rendering: it may not open or close a fence, nor start a line of its own
    (a preview's SMS body is the model's, but may quote a caller)."""
    if text.isascii() and text.isprintable():  # most values: no fence bracket, no line break to join
        return text
    return " ".join(neutralise_fences(text).splitlines())


def _has_text(value: Any) -> bool:
    """Whether a value holds any text (numbers and flags need no fence)."""
    if isinstance(value, str):
        return value != ""
    if isinstance(value, Mapping):
        return any(_has_text(k) or _has_text(v) for k, v in value.items())
    return isinstance(value, list | tuple) and any(_has_text(v) for v in value)


def render(model: BaseModel, data: Mapping[str, Any] | None = None) -> str:
    """A compact text rendering of a result: one `key: value` line per fact, one line per list item.

    Untrusted data (`is_untrusted`: declared so, or an API object's undeclared field, however nested) is
    cleaned and fenced with ⟦untrusted: …⟧ so an assistant reads it as data; no value, trusted or not,
    can write a fence bracket. Fields excluded from the structured result (advice such as Page.note)
    close the text. `data`: the model's JSON dump (without None), where the caller has it already.
    """
    if data is None:
        data = model.model_dump(mode="json", exclude_none=True)
    lines: list[str] = []
    for name, value in _fields(model, data):
        attribute = getattr(model, name, None)
        if isinstance(attribute, list) and attribute and isinstance(attribute[0], BaseModel):
            lines.append(f"{name} ({len(attribute)}):")
            lines.extend(
                "- " + "; ".join([f"{k}={v}" for k, v in _fields(item, dumped)])
                for item, dumped in zip(attribute, data[name], strict=True)
            )
        else:
            lines.append(f"{name}: {value}")
    for name, field in type(model).model_fields.items():
        if field.exclude and (advice := getattr(model, name)) is not None:
            lines.append(f"{name}: {_inline(str(advice))}")
    return "\n".join(lines)
