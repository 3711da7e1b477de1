"""Compact JSON schemas for `tools/list`: every token there is paid on every request of a session.

Pydantic's schemas carry a title on every property, `anyOf [X, null]` for every optional field and
`$defs` indirection; none of it tells a model anything. Input schemas keep what guides a model (types,
enums, formats, patterns, ranges, short descriptions); length limits stay enforced by the input
models, with clear errors, but are not published, and conventions every list shares (default page
size, sort spelling, date ranges) are said once in the server instructions. Output schemas keep the
shape (property names, types and descriptions at the top, nested objects and arrays by type) and the
untrusted-text marks; results are sent with `exclude_none`, so optional fields are simply absent.

The input schemas are built ahead of time: `input_schemas.json`, committed beside this module, holds each
catalogue tool's (tests/test_catalogue.py checks it against the models), so start-up builds none of the
input models, which pydantic would otherwise build just to describe them.
"""

from __future__ import annotations

import datetime
import functools
import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from cs_mcp.models import UNTRUSTED_NOTE, Untrusted

COMMITTED_INPUT_SCHEMAS = Path(__file__).with_name("input_schemas.json")
_ALWAYS_DROPPED = frozenset({"title"})
_INPUT_DROPPED = frozenset({"maxLength", "minLength", "maxItems", "minItems"})
_KEY_ORDER = {"description": 0, "type": 1}
_JSON_TYPES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    uuid.UUID: "string",
    datetime.date: "string",
    datetime.datetime: "string",
}


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
    # "description" then "type" first: the tokenizer joins the punctuation around them a little better.
    for key, value in sorted(node.items(), key=lambda item: _KEY_ORDER.get(item[0], len(_KEY_ORDER))):
        if key in _ALWAYS_DROPPED or key in _INPUT_DROPPED or (key == "default" and value is None):
            continue
        if key == "type" and "enum" in node:  # the enum's values already say it
            continue
        if key in ("properties", "$defs"):
            out[key] = {name: _compact_input(schema) for name, schema in value.items()}
        else:
            out[key] = _compact_input(value)
    return out


def input_schema(model: type[BaseModel]) -> dict[str, Any]:
    # Unknown arguments are refused by the input model with a clear error; publishing
    # additionalProperties=false would cost every session five tokens a tool to say the same.
    # The model's docstring is for engineers; the tool's description speaks to the assistant.
    schema = _compact_input(_resolve(model.model_json_schema(mode="validation")))
    schema.pop("additionalProperties", None)
    schema.pop("description", None)
    if not schema.get("properties"):
        schema.pop("properties", None)  # a tool without arguments: {"type": "object"} says it all
    return schema


def committed_input_schemas_text(models: Mapping[str, type[BaseModel]]) -> str:
    """The text of `input_schemas.json` for these tools' input models, by tool name.

    Tool names are sorted; each schema keeps its own key order, which is part of what tools/list sends.
    """
    return json.dumps({name: input_schema(models[name]) for name in sorted(models)}, indent=1) + "\n"


@functools.cache
def committed_input_schemas() -> dict[str, dict[str, Any]]:
    """The committed schemas by tool name, read once (none if the file is absent)."""
    try:
        committed: dict[str, dict[str, Any]] = json.loads(COMMITTED_INPUT_SCHEMAS.read_bytes())
    except FileNotFoundError:
        return {}
    return committed


def published_input_schema(name: str, model: type[BaseModel]) -> dict[str, Any]:
    """Tool `name`'s input schema as tools/list publishes it: the committed one, else built from `model`
    (a tool added since the file was generated). A committed one is shared: published, never changed."""
    committed = committed_input_schemas().get(name)
    return committed if committed is not None else input_schema(model)


def _output_field(annotation: Any, metadata: tuple[Any, ...] = ()) -> dict[str, Any]:
    """The published schema of one output field, read from its type annotation."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _output_field(args[0], (*metadata, *args[1:]))
    if any(isinstance(marker, Untrusted) for marker in metadata):
        return {"description": UNTRUSTED_NOTE, "type": "string"}
    if origin in (Union, UnionType):
        members = [arg for arg in args if arg is not type(None)]
        if len(members) == 1:
            return _output_field(members[0], metadata)
        # A real union publishes its members' JSON types where each has one (a config part: any JSON value).
        types = [_output_field(member).get("type") for member in members]
        return {"type": types} if all(isinstance(t, str) for t in types) else {}
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (list, tuple, set, frozenset) or annotation in (list, tuple):
        # Like nested objects, arrays go by type; their items are spelled out only to mark untrusted text.
        items = _output_field(args[0]) if args else {}
        return {"type": "array", "items": items} if "properties" in items else {"type": "array"}
    if origin is dict or annotation is dict:
        return {"type": "object"}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        # A nested object: its type, and its fields that carry untrusted text or say what they mean.
        marked = {
            name: schema
            for name, field in annotation.model_fields.items()
            if (
                schema := _described(
                    _output_field(field.annotation, tuple(field.metadata)), field.description
                )
            ).get("description")
        }
        return {"type": "object", "properties": marked} if marked else {"type": "object"}
    return {"type": _JSON_TYPES[annotation]} if annotation in _JSON_TYPES else {}


def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    """Top-level fields with their JSON types; nested objects by type and untrusted fields only.

    Read from the annotations rather than pydantic's JSON-schema generator: what is published is this
    small, and generating full schemas only to cut them down was a sixth of the start-up time.
    """
    properties = {
        name: _described(_output_field(field.annotation, tuple(field.metadata)), field.description)
        for name, field in model.model_fields.items()
        if not field.exclude  # text-only advice (see Page.note)
    }
    return {"type": "object", "properties": properties}


def _described(schema: dict[str, Any], description: str | None) -> dict[str, Any]:
    """A top-level field's description, published: outputSchema is not paid for in the model's context, and
    what a figure means (answered, missed, a period) is worth saying where the figure is."""
    if not description or "description" in schema:  # an untrusted field keeps its mark
        return schema
    return {"description": description, **schema}
