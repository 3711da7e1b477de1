"""`cs-mcp tools NAME` and `cs-mcp tools --json`: what a tool takes, read from its input model.

The arguments are described from the model's full JSON schema (types, ranges, lengths, patterns,
enums) and its fields (defaults, which the published schema leaves out to save tokens), and the
example call is built from the same schema, so it always validates (tests/test_first_hour.py).
"""

from __future__ import annotations

import difflib
import json
import shlex
from collections.abc import Mapping
from typing import Any

from annotated_types import Ge, Le, MaxLen, MinLen
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python

from cs_mcp import catalogue, schemas
from cs_mcp.config import Settings
from cs_mcp.errors import ConfigError
from cs_mcp.spec import ToolSpec
from cs_mcp.tools_table import tool_rows

E164 = r"^\+[1-9][0-9]{7,14}$"
# A valid value for each pattern and format the input models use; a new one without a sample fails
# the test that validates every tool's example.
PATTERN_SAMPLES = {
    E164: "+18135550100",
    r"^[2-9][0-9]{2}$": "813",
    r"^[0-9]{1,7}$": "1234",
    r"^https?://\S+\.\S+$": "https://acme.example/plumbing",
}
FORMAT_SAMPLES = {"uuid": "3f0c6f52-4a4e-4c1a-9d2e-5b7f0e4a1c11", "date": "2026-01-31"}
# Values that read better in an example than "text" (or that must differ from their format's one sample).
NAME_SAMPLES = {
    "name": "Tampa Google Ads",
    "body": "Your technician is on the way.",
    "first_since": "2026-01-01",
    "first_before": "2026-02-01",
    "second_since": "2026-02-01",
    "second_before": "2026-03-01",
    "at": "2026-12-01T19:00",
}
# Arguments an example never needs: they come from an earlier answer.
NEVER_IN_EXAMPLES = frozenset({"confirmation_token", "cursor"})
FORMAT_WORDS = {"uuid": "id (UUID)", "date": "date YYYY-MM-DD"}
GUARDRAIL_WORDS = {
    "read": "reads only",
    "write": "changes data",
    "routing": "changes routing: asks the user first when calls would ring somewhere new",
    "destructive": "deletes: asks the user first",
    "costly": "costs money: asks the user first",
    "outbound": "reaches people outside the business: asks the user first",
}


def _find(name: str) -> ToolSpec:
    specs = catalogue.by_name()
    if name in specs:
        return specs[name]
    close = difflib.get_close_matches(name, specs, n=3)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise ConfigError(f"no tool named {name!r}{hint} (`cs-mcp tools` lists them)")


def _full_schema(model: type[BaseModel]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The model's validation schema and its definitions, for `$ref`s to be followed."""
    schema = model.model_json_schema(mode="validation")
    return schema, schema.get("$defs", {})


def _deref(node: Mapping[str, Any], defs: Mapping[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return {**defs[ref.removeprefix("#/$defs/")], **{k: v for k, v in node.items() if k != "$ref"}}
    return dict(node)


def _variants(node: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [v for v in node.get("anyOf", []) if v != {"type": "null"}]


def _with_field_bounds(node: dict[str, Any], field: FieldInfo) -> dict[str, Any]:
    """Bounds the published schema hides on purpose (`limit`'s minimum), taken back from the field."""
    for marker in field.metadata:
        for kind, key, attribute in (
            (Ge, "minimum", "ge"),
            (Le, "maximum", "le"),
            (MinLen, "minLength", "min_length"),
            (MaxLen, "maxLength", "max_length"),
        ):
            if isinstance(marker, kind):
                node.setdefault(key, getattr(marker, attribute))
    return node


def _range(node: Mapping[str, Any], low: str, high: str, unit: str = "") -> str:
    lo, hi = node.get(low), node.get(high)
    if lo is not None and hi is not None:
        return f"{lo}-{hi}{unit}"
    if hi is not None:
        return f"up to {hi}{unit}"
    return f"at least {lo}{unit}" if lo is not None else ""


def kind_of(node: Mapping[str, Any], defs: Mapping[str, Any]) -> str:
    """A short phrase for a schema: "integer 1-100", "one of a, b", "list of id (UUID), up to 50"."""
    node = _deref(node, defs)
    if variants := _variants(node):
        return " or ".join(kind_of(v, defs) for v in variants)
    if "enum" in node:
        return "one of " + ", ".join(map(str, node["enum"]))
    kind = node.get("type")
    if kind == "array":
        items = node.get("items")
        size = _range(node, "minItems", "maxItems", " items")
        return ", ".join(filter(None, ("list" + (f" of {kind_of(items, defs)}" if items else ""), size)))
    if kind == "object":
        properties, required = node.get("properties", {}), set(node.get("required", ()))
        keys = ", ".join(k if k in required else f"{k} (optional)" for k in properties)
        return f"object with {keys}" if keys else "object"
    if kind == "string":
        pattern, form = node.get("pattern"), node.get("format")
        if pattern == E164:
            word = "phone number, E.164 (+18135550100)"
        elif form in FORMAT_WORDS:
            word = FORMAT_WORDS[form]
        else:
            word = "text" + (f" matching {pattern}" if pattern else "")
        return ", ".join(filter(None, (word, _range(node, "minLength", "maxLength", " characters"))))
    if kind in ("integer", "number"):
        return " ".join(filter(None, (kind, _range(node, "minimum", "maximum"))))
    return {"boolean": "true or false"}.get(str(kind), "any JSON value")


def sample_of(node: Mapping[str, Any], defs: Mapping[str, Any], name: str = "") -> Any:
    """A value that the schema accepts, for the example call."""
    node = _deref(node, defs)
    if variants := _variants(node):
        return sample_of(variants[0], defs, name)
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    if kind == "array":
        items = node.get("items", {"type": "string"})
        return [sample_of(items, defs, name)] * max(1, node.get("minItems", 1))
    if kind == "object":
        properties = node.get("properties", {})
        return {key: sample_of(properties[key], defs, key) for key in node.get("required", ())}
    if kind in ("integer", "number"):
        return node.get("minimum", 1)
    if kind == "boolean":
        return True
    pattern, form = node.get("pattern"), node.get("format")
    if pattern is not None:
        return PATTERN_SAMPLES.get(pattern, "")
    return NAME_SAMPLES.get(name) or FORMAT_SAMPLES.get(form or "") or "text"


def example_arguments(spec: ToolSpec) -> dict[str, Any]:
    """The required arguments with sample values, and the first optional ones a rule of the model asks
    for (update_number needs something to change); a list asks for a short page."""
    schema, defs = _full_schema(spec.input_model)
    properties = schema.get("properties", {})
    arguments = {name: sample_of(properties[name], defs, name) for name in schema.get("required", ())}
    if spec.listing is not None and "limit" in properties:
        arguments["limit"] = 5
    optional = [name for name in properties if name not in arguments and name not in NEVER_IN_EXAMPLES]
    for name in optional:
        try:
            spec.input_model.model_validate(arguments)
            break
        except ValidationError:
            arguments[name] = sample_of(properties[name], defs, name)
    return arguments


def example_command(spec: ToolSpec) -> str:
    words = ["cs-mcp", "call", spec.name]
    for key, value in example_arguments(spec).items():
        words.append(f"{key}={value if isinstance(value, str) else json.dumps(value)}")
    if spec.role.label != "viewer":
        words += ["--role", spec.role.label]
    return shlex.join(words)


def argument_lines(spec: ToolSpec) -> list[str]:
    """One line per argument: name, required or default, kind, and what it is for."""
    schema, defs = _full_schema(spec.input_model)
    properties = schema.get("properties", {})
    required = set(schema.get("required", ()))
    width = max((len(name) for name in properties), default=0)
    lines = []
    for name, field in spec.input_model.model_fields.items():
        if name not in properties:  # accepted but not published (another tool explains it): not shown
            continue
        node = _with_field_bounds(_deref(properties[name], defs), field)
        kind = kind_of(node, defs)
        if name == "sort" and spec.listing is not None:
            # Any field an item shows sorts (cs_mcp.listing.check_sort): the declared ones are examples.
            examples = f", e.g. {', '.join(spec.listing.sortable[:4])}" if spec.listing.sortable else ""
            kind = f"any field an item shows{examples}; -field for descending"
        default = None if name in required else field.get_default(call_default_factory=True)
        if name in required:
            when = "required"
        elif default is None or default == []:
            when = "optional"
        else:
            when = f"default {json.dumps(to_jsonable_python(default))}"
        about = node.get("description", "")
        lines.append(f"  {name:<{width}}  {when}; {kind}" + (f". {about}" if about else ""))
    return lines


def help_text(spec: ToolSpec, settings: Settings) -> str:
    facts = [
        f"toolset {spec.toolset}",
        f"least role {spec.role.label}",
        GUARDRAIL_WORDS[spec.guardrail],
        spec.endpoint,
    ]
    lines = [f"{spec.name}: {spec.description}", "  " + " · ".join(facts)]
    if reason := settings.hidden_reason(spec):
        lines.append(f"  hidden with these settings: {reason}")
    arguments = argument_lines(spec)
    lines += ["", "Arguments:" if arguments else "Arguments: none", *arguments]
    lines += [
        "",
        "Example (add --sandbox to try it on the made-up sandbox business):",
        f"  {example_command(spec)}",
    ]
    return "\n".join(lines)


def tool_json(spec: ToolSpec) -> dict[str, Any]:
    """The tool as `tools --json` prints it: its input schema exactly as tools/list publishes it."""
    return {
        "description": spec.description,
        "input_schema": schemas.published_input_schema(spec.name, spec.input_model),
        "example": example_arguments(spec),
    }


def catalogue_json(settings: Settings) -> dict[str, Any]:
    specs = catalogue.by_name()
    tools = [{**row, **tool_json(specs[str(row["name"])])} for row in tool_rows(settings)]
    return {"role": settings.role.label, "count": len(tools), "tools": tools}


def print_tool_help(settings: Settings, name: str | None, *, as_json: bool) -> None:
    """`cs-mcp tools NAME [--json]`, and `cs-mcp tools --json` (the whole catalogue) when name is None."""
    if name is None:
        print(json.dumps(catalogue_json(settings), indent=2))
        return
    spec = _find(name)
    if as_json:
        facts = {
            "name": spec.name,
            "toolset": spec.toolset,
            "role": spec.role.label,
            "guardrail": spec.guardrail,
        }
        hidden = {"hidden": reason} if (reason := settings.hidden_reason(spec)) else {}
        print(json.dumps({**facts, "endpoint": spec.endpoint, **hidden, **tool_json(spec)}, indent=2))
    else:
        print(help_text(spec, settings))
