"""Compact JSON schemas for `tools/list`: every token there is paid on every request of a session.

Pydantic's schemas carry a title on every property, `anyOf [X, null]` for every optional field and
`$defs` indirection; none of it tells a model anything. Input schemas keep what guides a model (types,
enums, formats, patterns, ranges, defaults, short descriptions); length limits stay enforced by the
input models, with clear errors, but are not published. Output schemas keep the shape (property
names and types at the top, nested objects by type) and the untrusted-text marks; results are sent with `exclude_none`,
so optional fields are simply absent.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from cs_mcp.models import UNTRUSTED_NOTE

_ALWAYS_DROPPED = frozenset({"title"})
_INPUT_DROPPED = frozenset({"maxLength", "minLength", "maxItems", "minItems"})
# Nested output objects (list items, a preview, an API object) are described by their type and their
# untrusted-text fields alone: the text rendering shows the rest, at no schema cost.
_OUTPUT_DEPTH = 1


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """Inline local `$ref`s: each model is referenced once or twice, so inlining is cheaper than `$defs`.

    A recursive model (call-flow steps nest) keeps its `$ref` and its one definition in `$defs`.
    """
    defs = schema.get("$defs", {})
    recursive: dict[str, Any] = {}

    def walk(node: Any, stack: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(item, stack) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            if name in stack:
                if name not in recursive:
                    recursive[name] = None  # reserve, then fill: the definition refers to itself
                    recursive[name] = walk(defs[name], (*stack, name))
                return {"$ref": ref}
            merged = {**defs[name], **{k: v for k, v in node.items() if k != "$ref"}}
            return walk(merged, (*stack, name))
        return {key: walk(value, stack) for key, value in node.items() if key != "$defs"}

    resolved = walk(schema, ())
    if recursive:
        resolved["$defs"] = recursive
    return resolved


def _without_null(node: dict[str, Any]) -> dict[str, Any]:
    variants = node.get("anyOf")
    if isinstance(variants, list):
        kept = [v for v in variants if v != {"type": "null"}]
        if len(kept) == 1:
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            return {**kept[0], **rest}
    return node


def _compact_input(node: Any) -> Any:
    if isinstance(node, list):
        return [_compact_input(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = _without_null(node)
    out = {}
    for key, value in node.items():
        if key in _ALWAYS_DROPPED or key in _INPUT_DROPPED or (key == "default" and value is None):
            continue
        if key == "type" and "enum" in node:  # the enum's values already say it
            continue
        if key in ("properties", "$defs"):
            out[key] = {name: _compact_input(schema) for name, schema in value.items()}
        else:
            out[key] = _compact_input(value)
    return out


def _untrusted_only(node: dict[str, Any]) -> dict[str, Any]:
    """An object's schema cut down to its type and the fields marked as untrusted text."""
    marked = {
        name: {"type": "string", "description": UNTRUSTED_NOTE}
        for name, schema in node.get("properties", {}).items()
        if _without_null(schema).get("description") == UNTRUSTED_NOTE
    }
    return {"type": "object", "properties": marked} if marked else {"type": "object"}


def _published_output_key(key: str, value: Any, node: dict[str, Any]) -> bool:
    if key == "type":
        return "enum" not in node  # the enum's values already say it
    return key == "enum" or (key == "description" and value == UNTRUSTED_NOTE)


def _compact_output(node: Any, depth: int = 0) -> Any:
    if not isinstance(node, dict):
        return node
    node = _without_null(node)
    if "anyOf" in node:  # a real union: its members' common ground is "some JSON value"
        return {}
    kind = node.get("type")
    if depth >= _OUTPUT_DEPTH and kind == "object":
        return _untrusted_only(node)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: _compact_output(schema, depth + 1) for name, schema in value.items()}
        elif key == "items":
            items = _compact_output(value, depth + 1)
            if items != {"type": "object"}:  # a plain object adds nothing to "array"
                out[key] = items
        elif _published_output_key(key, value, node):
            out[key] = value
    return out


def input_schema(model: type[BaseModel]) -> dict[str, Any]:
    # Unknown arguments are refused by the input model with a clear error; publishing
    # additionalProperties=false would cost every session five tokens a tool to say the same.
    schema = _compact_input(_resolve(model.model_json_schema(mode="validation")))
    schema.pop("additionalProperties", None)
    return schema


def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    return _compact_output(_resolve(model.model_json_schema(mode="serialization")))
