"""The tool catalogue: `tool_specs/*.toml` resolved into `ToolSpec`s, checked once at load.

Each TOML file is one toolset; each `[[tool]]` entry says which endpoint the tool calls, the least
role that may use it, its guardrail class, its four annotation hints, its description, and the
names of its input and output models in `cs_mcp.toolsets.<toolset>`. A toolset module's `TOOLS`
table supplies the functions a tool needs beyond the generic ones (handler, preview, reconciler).

Every name is resolved to a real object here; a misspelt model, a path parameter the input model
lacks, a list field no item has, a missing preview or a stray function stops the server at start
with a `CatalogueError` naming the spec. Nothing is looked up by name when a tool is called.
"""

from __future__ import annotations

import importlib
import re
import tomllib
from dataclasses import fields
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from cs_mcp import handlers
from cs_mcp.config import Caps, Settings
from cs_mcp.dimensions import derivable
from cs_mcp.errors import ConfigError
from cs_mcp.filters import filtered_fields
from cs_mcp.listing import grouped, grouped_page, page_item_model
from cs_mcp.spec import (
    ALWAYS,
    GUARDRAILS,
    HINTS,
    TOOLSETS,
    CapRule,
    ListSpec,
    Role,
    ToolFunctions,
    ToolSpec,
)
from cs_mcp.toolsets import capabilities

# Installed wheels carry the specs inside the package; a source checkout keeps them at the top.
_SPEC_DIRS = (Path(__file__).parent / "tool_specs", Path(__file__).parent.parent / "tool_specs")
_KEYS = frozenset(
    {"name", "description", "endpoint", "role", "guardrail", "hints", "input", "output"}
    | {"list", "cap", "result", "if_unknown"}
)
_PATH_PARAM = re.compile(r"{(\w+)}")
_CAPS = frozenset(f.name for f in fields(Caps))


class CatalogueError(ConfigError):
    """A tool spec that is inconsistent: found at load (so the CLI stops with one line), never by a user."""


def _spec_dir() -> Path:
    for candidate in _SPEC_DIRS:
        if candidate.is_dir():
            return candidate
    raise CatalogueError(f"tool_specs/ not found (looked in {', '.join(map(str, _SPEC_DIRS))})")


def _model(module: ModuleType, name: str, where: str) -> type[BaseModel]:
    model = getattr(module, name, None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise CatalogueError(f"{where}: {module.__name__}.{name} is not a pydantic model")
    return model


def _listing(
    entry: dict[str, Any], spec_in: type[BaseModel], spec_out: type[BaseModel], where: str
) -> ListSpec:
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()}
    listing = ListSpec(**values)
    item = page_item_model(spec_out)
    if item is None:
        raise CatalogueError(f"{where}: a list tool's output must be a Page of items")
    # Items are the API's objects: a field counts as known when the page item declares it or a filter reads it.
    known = set(item.model_fields) | set(listing.api_fields) | filtered_fields(spec_in)
    named = (*listing.count_by, *listing.sum, *listing.sortable, *filter(None, [listing.default_sort]))
    unknown = sorted({f.lstrip("-") for f in named} - known)
    if unknown:
        raise CatalogueError(
            f"{where}: list field(s) {', '.join(unknown)} are not item fields of {item.__name__}, "
            "read by a filter, or declared in the list's api_fields"
        )
    underivable = [d for d in listing.group_by if not derivable(d, known)]
    if underivable:
        raise CatalogueError(
            f"{where}: group_by dimension(s) {', '.join(underivable)} are neither item fields of "
            f"{item.__name__} nor derivable from them (cs_mcp.dimensions.DERIVED)"
        )
    return listing


def _functions(module: ModuleType, name: str) -> ToolFunctions:
    table: dict[str, ToolFunctions] = getattr(module, "TOOLS", {})
    return table.get(name, ToolFunctions())


def _tool(module: ModuleType, toolset: str, entry: dict[str, Any]) -> ToolSpec:
    where = f"tool_specs/{toolset}.toml: {entry.get('name', '?')}"
    unknown_keys = sorted(set(entry) - _KEYS)
    if unknown_keys:
        raise CatalogueError(f"{where}: unknown key(s) {', '.join(unknown_keys)}")
    method, _, path = entry["endpoint"].partition(" ")
    hints = dict(entry["hints"])
    if set(hints) != set(HINTS):
        raise CatalogueError(f"{where}: hints must set exactly {', '.join(HINTS)}")
    guardrail = entry["guardrail"]
    if guardrail not in GUARDRAILS:
        raise CatalogueError(f"{where}: guardrail must be one of {GUARDRAILS}")
    if hints["read_only"] != (guardrail == "read"):
        raise CatalogueError(f"{where}: read_only hint must be true exactly for read tools")
    try:
        role = Role.parse(entry["role"])
    except ValueError as exc:
        raise CatalogueError(f"{where}: {exc}") from None
    input_model = _model(module, entry["input"], where)
    output_model = _model(module, entry["output"], where)
    missing = sorted(set(_PATH_PARAM.findall(path)) - set(input_model.model_fields))
    if missing:
        raise CatalogueError(
            f"{where}: path parameter(s) {', '.join(missing)} are not fields of {entry['input']}"
        )
    listing = _listing(entry["list"], input_model, output_model, where) if "list" in entry else None
    if listing is not None and listing.group_by:
        input_model, output_model = grouped(input_model, listing.group_by), grouped_page(output_model)
    functions = _functions(module, entry["name"])
    cap = CapRule(**entry["cap"]) if "cap" in entry else None
    if cap is not None and cap.cap not in _CAPS:
        raise CatalogueError(f"{where}: cap {cap.cap!r} is not one of {', '.join(sorted(_CAPS))}")
    spec = ToolSpec(
        name=entry["name"],
        toolset=toolset,
        description=" ".join(entry["description"].split()),
        method=method,
        path=path,
        role=role,
        guardrail=guardrail,
        hints=hints,
        input_model=input_model,
        output_model=output_model,
        handler=functions.handler or (handlers.list_items if listing else handlers.call),
        functions=functions,
        listing=listing,
        cap=cap,
        result_key=entry.get("result"),
        if_unknown=entry.get("if_unknown"),
    )
    if spec.guarded and functions.preview is None:
        raise CatalogueError(f"{where}: a confirmed tool needs a preview in {module.__name__}.TOOLS")
    if spec.writes and functions.reconcile is None and not spec.if_unknown:
        raise CatalogueError(
            f"{where}: a write needs a reconcile function in {module.__name__}.TOOLS or an if_unknown text "
            "(what to check when its outcome is unknown)"
        )
    return spec


def _toolset(directory: Path, toolset: str) -> list[ToolSpec]:
    try:
        module = importlib.import_module(f"cs_mcp.toolsets.{toolset}")
    except Exception as exc:  # a misspelt name in a TOOLS table fails here, before any call
        raise CatalogueError(
            f"cs_mcp/toolsets/{toolset}.py does not load: {type(exc).__name__}: {exc}"
        ) from None
    document = tomllib.loads((directory / f"{toolset}.toml").read_text(encoding="utf-8"))
    specs = [_tool(module, toolset, entry) for entry in document.get("tool", [])]
    strays = sorted(set(getattr(module, "TOOLS", {})) - {s.name for s in specs})
    if strays:
        raise CatalogueError(
            f"{module.__name__}.TOOLS names tool(s) not in {toolset}.toml: {', '.join(strays)}"
        )
    return specs


@cache
def load() -> tuple[ToolSpec, ...]:
    """Every tool in the catalogue, in a stable order: by toolset as listed in TOOLSETS, then as written."""
    directory = _spec_dir()
    files = {p.stem for p in directory.glob("*.toml")}
    if files != set(TOOLSETS):
        raise CatalogueError(f"tool_specs/ must hold one file per toolset {TOOLSETS}; found {sorted(files)}")
    specs = [spec for toolset in TOOLSETS for spec in _toolset(directory, toolset)]
    names = [s.name for s in specs]
    if len(names) != len(set(names)):
        raise CatalogueError("tool names must be unique")
    return (capabilities_spec(), *specs)


def capabilities_spec() -> ToolSpec:
    return ToolSpec(
        name="get_capabilities",
        toolset=ALWAYS,
        description=(
            "This server's role, toolsets, mode, hidden tools and why, confirmation, caps and budget."
        ),
        method="",
        path="",
        role=Role.VIEWER,
        guardrail="read",
        hints={"read_only": True, "destructive": False, "idempotent": True, "open_world": False},
        input_model=capabilities.NoArguments,
        output_model=capabilities.Capabilities,
        handler=capabilities.capabilities,
        functions=ToolFunctions(handler=capabilities.capabilities),
    )


def visible(settings: Settings) -> list[ToolSpec]:
    return [spec for spec in load() if settings.hidden_reason(spec) is None]


@cache
def by_name() -> dict[str, ToolSpec]:
    return {spec.name: spec for spec in load()}
