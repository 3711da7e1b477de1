"""The compact text rendering of a result, with untrusted data fenced.

Every result goes out twice: as structuredContent and as this text, one `key: value` line per fact and
one line per list item, which is what most assistants read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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


def _fields(model: BaseModel) -> Iterable[tuple[str, str]]:
    data = model.model_dump(mode="json", exclude_none=True)
    for name, value in data.items():
        attribute = getattr(model, name, None)
        if isinstance(attribute, BaseModel):
            yield name, "{" + ", ".join(f"{k}={v}" for k, v in _fields(attribute)) + "}"
        elif isinstance(attribute, list) and attribute and isinstance(attribute[0], BaseModel):
            yield name, f"[{len(attribute)} items]"
        elif is_untrusted(type(model), name) and _has_text(value):
            yield name, fence(_scalar(value))
        else:
            yield name, _inline(_scalar(value))


def _inline(text: str) -> str:
    """A trusted value in the rendering: it may not open or close a fence, nor start a line of its own
    (a preview's SMS body is the model's, but may quote a caller)."""
    return " ".join(neutralise_fences(text).splitlines())


def _has_text(value: Any) -> bool:
    """Whether a value holds any text (numbers and flags need no fence)."""
    if isinstance(value, str):
        return value != ""
    if isinstance(value, Mapping):
        return any(_has_text(k) or _has_text(v) for k, v in value.items())
    return isinstance(value, list | tuple) and any(_has_text(v) for v in value)


def render(model: BaseModel) -> str:
    """A compact text rendering of a result: one `key: value` line per fact, one line per list item.

    Untrusted data (`is_untrusted`: declared so, or an API object's undeclared field, however nested) is
    cleaned and fenced with ⟦untrusted: …⟧ so an assistant reads it as data; no value, trusted or not,
    can write a fence bracket. Fields excluded from the structured result (advice such as Page.note)
    close the text.
    """
    lines: list[str] = []
    for name, value in _fields(model):
        attribute = getattr(model, name, None)
        if isinstance(attribute, list) and attribute and isinstance(attribute[0], BaseModel):
            lines.append(f"{name} ({len(attribute)}):")
            lines.extend("- " + "; ".join(f"{k}={v}" for k, v in _fields(item)) for item in attribute)
        else:
            lines.append(f"{name}: {value}")
    for name, field in type(model).model_fields.items():
        if field.exclude and (advice := getattr(model, name)) is not None:
            lines.append(f"{name}: {_inline(str(advice))}")
    return "\n".join(lines)
