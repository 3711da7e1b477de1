"""What a tool is, as the catalogue declares it: roles, toolsets, guardrail classes, and `ToolSpec`.

A leaf module: it imports nothing of cs_mcp's, so every other module can import it without a cycle.
`catalogue` builds the specs from `tool_specs/*.toml` and the toolset modules; nothing else does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from pydantic import BaseModel

TOOLSETS = (
    "numbers",
    "call_flows",
    "messaging",
    "number_groups",
    "number_pools",
    "voicemails",
    "forms",
    "calls",
    "reporting",
    "search",
)
# The tool every server lists whatever its settings.
ALWAYS = "(always)"

# read: no change; write: a change that needs no confirmation; routing: a change that needs confirmation
# when it sends calls somewhere new (its preview says); destructive, costly, outbound: always confirmed.
GUARDRAILS = ("read", "write", "routing", "destructive", "costly", "outbound")
ALWAYS_CONFIRMED = frozenset({"destructive", "costly", "outbound"})
HINTS = ("read_only", "destructive", "idempotent", "open_world")


class Role(IntEnum):
    """CallScaler app roles, ordered so that `role >= Role.MANAGER` reads naturally."""

    VIEWER = 1
    MANAGER = 2
    ADMIN = 3
    OWNER = 4

    @classmethod
    def parse(cls, text: str) -> Role:
        """The role named `text` (any case); ValueError naming the valid ones otherwise."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(r.label for r in cls)
            raise ValueError(f"unknown role {text!r}: use one of {names}") from None

    @property
    def label(self) -> str:
        return self.name.lower()


class ConfirmMode:
    AUTO = "auto"
    ELICIT = "elicit"
    TOKEN = "token"
    URL = "url"  # approval on a page of ours, which a model cannot click
    ALL = (AUTO, ELICIT, TOKEN, URL)


# A tool function takes the call (cs_mcp.call.ToolCall) and the validated arguments.
ToolFunction = Callable[[Any, Any], Awaitable[Any]]
Reconcile = Callable[[Any, Any, Any], Awaitable[Any]]


@dataclass(frozen=True)
class ToolFunctions:
    """What a toolset module supplies for one tool, in its `TOOLS` table; all optional.

    handler: does the call (default: the generic `call`, or `list` for list tools).
    preview: what a confirmed tool would do (required where the tool is confirmed).
    snapshot: notes the state just before a write acts, for `reconcile`.
    reconcile: after a write whose answer was lost, the result if it took effect, else None.
    """

    handler: ToolFunction | None = None
    preview: ToolFunction | None = None
    snapshot: ToolFunction | None = None
    reconcile: Reconcile | None = None


@dataclass(frozen=True)
class ListSpec:
    """How a list tool pages and summarises what the endpoint returns."""

    items: str
    count_by: tuple[str, ...] = ()
    sum: tuple[str, ...] = ()
    sortable: tuple[str, ...] = ()
    default_sort: str | None = None
    # Fields the API's items carry beyond those the page item declares, that the list may sort or count by.
    api_fields: tuple[str, ...] = ()
    # The dimensions `group_by` offers: item fields, or derived ones (cs_mcp.dimensions.DERIVED).
    group_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class CapRule:
    """Which operator cap each of a tool's calls counts against (one slot a call)."""

    cap: str  # a field of config.Caps


@dataclass(frozen=True)
class ToolSpec:
    """One tool, resolved: every name the TOML gives is a real object here, checked at load."""

    name: str
    toolset: str
    description: str
    method: str
    path: str
    role: Role
    guardrail: str
    hints: dict[str, bool]
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    handler: ToolFunction
    functions: ToolFunctions
    listing: ListSpec | None = None
    cap: CapRule | None = None
    result_key: str | None = None  # the answer's object sits under this key (`{"number": {...}}`)
    if_unknown: str | None = None  # what to check when a write's outcome is unknown and no reconciler can

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.path}" if self.method else "(no API call)"

    @property
    def confirmed(self) -> bool:
        """Confirmed on every call (a routing change is confirmed only when its preview says so)."""
        return self.guardrail in ALWAYS_CONFIRMED

    @property
    def guarded(self) -> bool:
        """Runs through the confirmation flow: always confirmed, or confirmed when it reroutes calls."""
        return self.confirmed or self.guardrail == "routing"

    @property
    def writes(self) -> bool:
        return not self.hints["read_only"]
