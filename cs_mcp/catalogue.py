"""The tool catalogue: what `tool_specs/*.toml` declares, loaded and checked once.

Each TOML file is one toolset; each `[[tool]]` entry says which endpoint the tool calls, the least
role that may use it, its guardrail class, its four annotation hints, its description, and the
names of its input and output models in `cs_mcp.toolsets.<toolset>`. The server, `cs-mcp tools`
and the README's tool table are all built from this, so they cannot disagree.
"""

from __future__ import annotations

import importlib
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from cs_mcp.config import Settings
from cs_mcp.spec import TOOLSETS, Role

# Installed wheels carry the specs inside the package; a source checkout keeps them at the top.
_SPEC_DIRS = (Path(__file__).parent / "tool_specs", Path(__file__).parent.parent / "tool_specs")

GUARDRAILS = ("read", "write", "destructive", "costly", "outbound")
# Guardrail classes whose tools a human must confirm before they act.
CONFIRMED = frozenset({"destructive", "costly", "outbound"})
HINTS = ("read_only", "destructive", "idempotent", "open_world")


@dataclass(frozen=True)
class ListSpec:
    """How a list tool pages and summarises what the endpoint returns."""

    items: str
    count_by: tuple[str, ...] = ()
    sum: tuple[str, ...] = ()
    sortable: tuple[str, ...] = ()
    default_sort: str | None = None


@dataclass(frozen=True)
class ToolSpec:
    name: str
    toolset: str
    description: str
    method: str
    path: str
    role: Role
    guardrail: str
    hints: dict[str, bool]
    handler: str
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    listing: ListSpec | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.path}" if self.method else "(no API call)"

    @property
    def needs_confirmation(self) -> bool:
        return self.guardrail in CONFIRMED

    @property
    def writes(self) -> bool:
        return not self.hints["read_only"]


class CatalogueError(ValueError):
    """A tool spec that is inconsistent: found at load, so it never reaches a user."""


def _spec_dir() -> Path:
    for candidate in _SPEC_DIRS:
        if candidate.is_dir():
            return candidate
    raise CatalogueError(f"tool_specs/ not found (looked in {', '.join(map(str, _SPEC_DIRS))})")


def _model(module: Any, name: str, where: str) -> type[BaseModel]:
    model = getattr(module, name, None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise CatalogueError(f"{where}: {module.__name__}.{name} is not a pydantic model")
    return model


def _tool(toolset: str, entry: dict[str, Any]) -> ToolSpec:
    where = f"tool_specs/{toolset}.toml: {entry.get('name', '?')}"
    module = importlib.import_module(f"cs_mcp.toolsets.{toolset}")
    method, _, path = entry["endpoint"].partition(" ")
    hints = dict(entry["hints"])
    if set(hints) != set(HINTS):
        raise CatalogueError(f"{where}: hints must set exactly {', '.join(HINTS)}")
    guardrail = entry["guardrail"]
    if guardrail not in GUARDRAILS:
        raise CatalogueError(f"{where}: guardrail must be one of {GUARDRAILS}")
    if hints["read_only"] != (guardrail == "read"):
        raise CatalogueError(f"{where}: read_only hint must be true exactly for read tools")
    listing = entry.get("list")
    known = {
        "name",
        "description",
        "endpoint",
        "role",
        "guardrail",
        "hints",
        "handler",
        "input",
        "output",
        "list",
    }
    return ToolSpec(
        name=entry["name"],
        toolset=toolset,
        description=" ".join(entry["description"].split()),
        method=method,
        path=path,
        role=Role.parse(entry["role"]),
        guardrail=guardrail,
        hints=hints,
        handler=entry.get("handler", "list" if listing else "call"),
        input_model=_model(module, entry["input"], where),
        output_model=_model(module, entry["output"], where),
        listing=ListSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in listing.items()})
        if listing
        else None,
        extra={k: v for k, v in entry.items() if k not in known},
    )


@cache
def load() -> tuple[ToolSpec, ...]:
    """Every tool in the catalogue, in a stable order: by toolset as listed in TOOLSETS, then as written."""
    directory = _spec_dir()
    files = {p.stem for p in directory.glob("*.toml")}
    if files != set(TOOLSETS):
        raise CatalogueError(f"tool_specs/ must hold one file per toolset {TOOLSETS}; found {sorted(files)}")
    specs: list[ToolSpec] = []
    for toolset in TOOLSETS:
        document = tomllib.loads((directory / f"{toolset}.toml").read_text(encoding="utf-8"))
        specs.extend(_tool(toolset, entry) for entry in document.get("tool", []))
    names = [s.name for s in specs]
    if len(names) != len(set(names)):
        raise CatalogueError("tool names must be unique")
    return (capabilities_spec(), *specs)


def capabilities_spec() -> ToolSpec:
    from cs_mcp.toolsets import capabilities

    return ToolSpec(
        name="get_capabilities",
        toolset="(always)",
        description=(
            "This server's role, toolsets, mode, hidden tools and why, confirmation, caps and budget."
        ),
        method="",
        path="",
        role=Role.VIEWER,
        guardrail="read",
        hints={"read_only": True, "destructive": False, "idempotent": True, "open_world": False},
        handler="capabilities",
        input_model=capabilities.NoArguments,
        output_model=capabilities.Capabilities,
    )


def hidden_reason(spec: ToolSpec, settings: Settings) -> str | None:
    """Why `settings` hide this tool, or None when it is visible."""
    if spec.name == "get_capabilities":
        return None
    if settings.role < spec.role:
        return f"needs the {spec.role.label} role (this server runs as {settings.role.label})"
    if settings.toolsets is not None and spec.toolset not in settings.toolsets:
        return f"toolset {spec.toolset} is not enabled"
    if settings.read_only and spec.writes:
        return "the server is read-only"
    return None


def visible(settings: Settings) -> list[ToolSpec]:
    return [spec for spec in load() if hidden_reason(spec, settings) is None]


@cache
def by_name() -> dict[str, ToolSpec]:
    return {spec.name: spec for spec in load()}
