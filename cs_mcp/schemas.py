"""Compact JSON schemas for `tools/list`: every token there is paid on every request of a session.

Pydantic's schemas carry a title on every property and `anyOf [X, null]` for every optional field.
Neither tells a model anything: titles repeat the property name, and optional fields are simply left
out (results are sent with `exclude_none`), so both are dropped.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_DROPPED_KEYS = frozenset({"title"})


def _compact(node: Any) -> Any:
    if isinstance(node, list):
        return [_compact(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS and isinstance(value, str):
            continue
        if key == "default" and value is None:
            continue
        out[key] = _compact(value)
    variants = out.get("anyOf")
    if isinstance(variants, list):
        kept = [v for v in variants if v != {"type": "null"}]
        if len(kept) == 1:
            del out["anyOf"]
            out = {**kept[0], **out}
    return out


def _mark_properties(schema: dict[str, Any]) -> None:
    """Keep property names even where a property schema is empty after compaction."""
    for name, value in list(schema.get("properties", {}).items()):
        if value == {}:
            schema["properties"][name] = {}


def input_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = _compact(model.model_json_schema(mode="validation"))
    schema.pop("additionalProperties", None)
    _mark_properties(schema)
    schema["additionalProperties"] = False
    return schema


def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = _compact(model.model_json_schema(mode="serialization"))
    _mark_properties(schema)
    return schema
