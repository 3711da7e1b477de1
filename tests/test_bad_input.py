"""Malformed arguments of every kind, for every tool: refused with a clear error, nothing sent.

The cases are derived from each tool's published input schema, so a new tool is covered as soon as
it is in the catalogue.
"""

from __future__ import annotations

from typing import Any

import pytest
from mcp_types import CallToolResult
from pydantic import ValidationError

from cs_mcp import catalogue
from cs_mcp.sandbox import Sandbox
from cs_mcp.schemas import input_schema

pytestmark = pytest.mark.anyio
HUGE = "x" * 100_000
TOOLS = [spec for spec in catalogue.load() if spec.name != "get_capabilities"]


def wrong_value(schema: dict[str, Any]) -> Any:
    """A value of the wrong type for a property (a number is fine where text is asked: it is text)."""
    kind = schema.get("type")
    if kind in ("integer", "number"):
        return "twelve"
    if kind == "boolean":
        return {"yes": True}
    if kind == "array":
        return 42
    if kind == "object":
        return ["not", "an", "object"]
    return ["not", "text"] if "enum" not in schema else "not-one-of-the-choices"


def valid_required(schema: dict[str, Any]) -> dict[str, Any]:
    """Plausible values for the required properties, so one bad property is the only fault."""
    samples = {"uuid": "00000000-0000-4000-8000-000000000001", "date": "2026-01-15"}
    values: dict[str, Any] = {}
    for name in schema.get("required", []):
        prop = schema["properties"][name]
        if "enum" in prop:
            values[name] = prop["enum"][0]
        elif prop.get("type") == "integer":
            values[name] = max(1, prop.get("minimum", 1))
        elif prop.get("type") == "array":
            values[name] = [samples["uuid"]]
        elif prop.get("type") == "object":
            values[name] = {"steps": [{"type": "greeting", "message": "hi"}]}
        elif "pattern" in prop and "+" in prop["pattern"]:
            values[name] = "+18135550100"
        elif name == "area_code":
            values[name] = "813"
        else:
            values[name] = samples.get(prop.get("format", ""), "Some name")
    return values


def cases(spec: catalogue.ToolSpec) -> list[tuple[str, dict[str, Any], str]]:
    schema = input_schema(spec.input_model)
    base = valid_required(schema)
    found = [("unknown argument", {**base, "bogus_argument": 1}, "bogus_argument")]
    for name in schema.get("required", []):
        found.append((f"missing {name}", {k: v for k, v in base.items() if k != name}, name))
    for name, prop in schema.get("properties", {}).items():
        found.append((f"wrong type for {name}", {**base, name: wrong_value(prop)}, name))
        if prop.get("type") == "string" and "enum" not in prop:
            found.append((f"huge {name}", {**base, name: HUGE}, name))
        if "pattern" in prop or prop.get("format") in ("uuid", "date"):
            found.append((f"malformed {name}", {**base, name: "+1 (not valid) \u202e\u200b☎"}, name))
    return found


@pytest.mark.parametrize("spec", TOOLS, ids=lambda spec: spec.name)
async def test_malformed_arguments_are_refused_before_any_request(
    spec: catalogue.ToolSpec, connect: Any, sandbox: Any
) -> None:
    async with connect("owner") as client:
        for label, arguments, field in cases(spec):
            before = len(sandbox.requests)
            result = await client.call_tool(spec.name, arguments)
            text = result.content[0].text
            assert result.is_error, f"{spec.name}: {label} was accepted"
            assert "Invalid arguments" in text and field in text, f"{spec.name}: {label}: {text[:300]}"
            assert "Nothing was sent" in text, f"{spec.name}: {label}"
            assert len(text) < 2000, f"{spec.name}: {label}: the error echoes too much"
            assert len(sandbox.requests) == before, f"{spec.name}: {label} reached the API"


def text_of(result: CallToolResult) -> str:
    return "\n".join(getattr(block, "text", "") for block in result.content)


def assert_clear(spec: catalogue.ToolSpec, label: str, result: CallToolResult) -> None:
    """A result or a tool error that says something: never the SDK's bare "Error executing tool X"."""
    text = text_of(result)
    assert text.strip() != f"Error executing tool {spec.name}", f"{spec.name}: {label}: generic error"
    if result.is_error:
        assert "internal error" not in text and len(text) > len(f"Error executing tool {spec.name}: "), (
            f"{spec.name}: {label}: {text[:300]}"
        )


def validated(spec: catalogue.ToolSpec, arguments: dict[str, Any]) -> Any:
    """The arguments as the tool reads them, or the problems it finds."""
    try:
        return spec.input_model.model_validate(arguments)
    except ValidationError as exc:
        return [(error["loc"], error["msg"]) for error in exc.errors()]


def outcome(result: CallToolResult) -> tuple[bool, Any, str]:
    return result.is_error, result.structured_content, text_of(result)


@pytest.mark.parametrize("spec", TOOLS, ids=lambda spec: spec.name)
async def test_null_for_any_argument_means_not_given(
    spec: catalogue.ToolSpec, connect: Any, sandbox: Sandbox
) -> None:
    """`{"fields": null}` crashed every list tool with the SDK's generic error (r07): null is "not given".

    A required argument sent as null is reported missing, with nothing sent; an optional one changes
    nothing: a read answers exactly as without it, and a write gets as far as without it.
    """
    schema = input_schema(spec.input_model)
    base = valid_required(schema)
    async with connect("owner") as client:
        for name in schema.get("properties", {}):
            arguments = {**base, name: None}
            before = len(sandbox.requests)
            result = await client.call_tool(spec.name, arguments)
            assert_clear(spec, f"{name}=null", result)
            if name in schema.get("required", []):
                assert result.is_error and f"`{name}` is required" in text_of(result), spec.name
                assert len(sandbox.requests) == before, f"{spec.name}: {name}=null reached the API"
                continue
            without = {k: v for k, v in arguments.items() if k != name}
            if not spec.writes:
                plain = await client.call_tool(spec.name, without)
                assert outcome(result) == outcome(plain), (spec.name, name)
            else:  # a write acts; whether it is read the same is what matters
                assert validated(spec, arguments) == validated(spec, without), (spec.name, name)


async def test_unicode_and_control_text_in_valid_places_never_crashes(connect: Any) -> None:
    strange = "Tampa \u202eevil\u202c \u200b\U0001f4de 東京 \x00\x07"
    async with connect("viewer") as client:
        for tool, arguments in [
            ("list_numbers", {"contains": strange}),
            ("get_number", {"number": strange}),
            ("list_calls", {"search": strange[:50]}),
            ("list_conversations", {"contact": strange[:50]}),
        ]:
            result = await client.call_tool(tool, arguments)
            assert result.content, tool  # an answer or a clear error, never a dropped call
            if result.is_error:
                assert "internal error" not in result.content[0].text, (tool, result.content[0].text)
