"""Call-flow configs: their typed model, a glanceable outline, addressing a part, and version diffs.

A flow's `config_json` is a tree: `steps` is a list of steps, and branching steps hold further step
lists (ivr `options.<key>.steps`, schedule `windows[i].steps` and `closed_steps`, zip_code/tag_route
`routes[i].steps` and `default_steps`, forward and rtb `failover_steps`), beside the flow-level
`settings` (recording, whisper, press_1). Walking is done on the raw dicts, not on the models, so a
config the live API returns with fields we do not know still outlines instead of failing.

Paths address a part of the tree with the same labels the outline prints, joined with dots:
`steps[1].options.2[0]` is the first step under key 2 of the ivr at steps[1] (the full
`steps[1].options.2.steps[0]`, `steps.1.options.2.steps.0` and `/`-separated forms also work).
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from cs_mcp.models import Phone

# --- The config model (validates what create/update send) ---------------------------------------------

Key = Annotated[str, StringConstraints(pattern=r"^[0-9*#]$")]
Clock = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Seconds = Annotated[int, Field(ge=1, le=3600)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class _Strict(BaseModel):
    # A misspelt field in a routing config is a silent misroute: refuse it before anything is sent.
    # The recursive step models build on first validation, not at start: only writes of flows need them.
    model_config = ConfigDict(extra="forbid", defer_build=True)


class Greeting(_Strict):
    type: Literal["greeting"]
    message: Text | None = None
    audio_url: Annotated[str, StringConstraints(max_length=500)] | None = None


class Forward(_Strict):
    type: Literal["forward"]
    destination: Phone
    timeout_seconds: Seconds | None = None
    caller_id: Annotated[str, StringConstraints(max_length=40)] | None = None
    failover_steps: list[Step] | None = None


class Voicemail(_Strict):
    type: Literal["voicemail"]
    greeting: Text | None = None
    max_length_seconds: Seconds | None = None
    transcribe: bool | None = None
    notify_emails: (
        Annotated[list[Annotated[str, StringConstraints(max_length=254)]], Field(max_length=10)] | None
    ) = None


class IvrOption(_Strict):
    label: Text
    steps: list[Step]


class Ivr(_Strict):
    type: Literal["ivr"]
    prompt: Text | None = None
    timeout_seconds: Seconds | None = None
    options: Annotated[dict[Key, IvrOption], Field(min_length=1)]
    invalid_steps: list[Step] | None = None


class MultiRing(_Strict):
    type: Literal["multi_ring"]
    destinations: Annotated[list[Phone], Field(min_length=1, max_length=10)]
    timeout_seconds: Seconds | None = None


class RoundRobin(_Strict):
    type: Literal["round_robin"]
    destinations: Annotated[list[Phone], Field(min_length=1, max_length=100)]


class Window(_Strict):
    days: Annotated[list[Weekday], Field(min_length=1, max_length=7)]
    start: Clock
    end: Clock
    steps: list[Step]

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.start >= self.end:
            raise ValueError(f"window start {self.start} must be before end {self.end}")
        return self


class Schedule(_Strict):
    type: Literal["schedule"]
    timezone: Annotated[str, StringConstraints(max_length=60)] | None = None
    windows: Annotated[list[Window], Field(min_length=1)]
    closed_steps: list[Step] = Field(default_factory=list)


class Route(_Strict):
    match: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=60)]], Field(min_length=1)
    ]
    steps: list[Step]


class ZipCode(_Strict):
    type: Literal["zip_code"]
    routes: Annotated[list[Route], Field(min_length=1)]
    default_steps: list[Step] = Field(default_factory=list)


class TagRoute(_Strict):
    type: Literal["tag_route"]
    routes: Annotated[list[Route], Field(min_length=1)]
    default_steps: list[Step] = Field(default_factory=list)


class Rtb(_Strict):
    """Real-time bidding (a paid add-on): the caller keys in a ZIP code, buyers bid for the call live, and
    the call goes to the winner; with no bid above the minimum in time, it takes `failover_steps`."""

    type: Literal["rtb"]
    zip_prompt: Text | None = None
    zip_retries: Annotated[int, Field(ge=0, le=5)] | None = None
    buyer_timeout_seconds: Annotated[int, Field(ge=1, le=60)] | None = None
    minimum_bid_cents: Annotated[int, Field(ge=0, le=100_000)] | None = None
    failover_steps: Annotated[list[Step], Field(min_length=1)]


# What the API assumes when an rtb step leaves a field out (CallScaler's RTB page).
RTB_DEFAULTS = {"zip_retries": 3, "buyer_timeout_seconds": 12, "minimum_bid_cents": 0}


class Webhook(_Strict):
    """Deprecated by CallScaler: kept so existing flows round-trip; skipped when a call runs."""

    type: Literal["webhook"]
    url: Annotated[str, StringConstraints(max_length=500)] | None = None


Step = Annotated[
    Greeting
    | Forward
    | Voicemail
    | Ivr
    | MultiRing
    | RoundRobin
    | Schedule
    | ZipCode
    | TagRoute
    | Rtb
    | Webhook,
    Field(discriminator="type"),
]
STEP_TYPES = (
    "greeting",
    "forward",
    "voicemail",
    "ivr",
    "multi_ring",
    "round_robin",
    "schedule",
    "zip_code",
    "tag_route",
    "rtb",
    "webhook",
)


class FlowSettings(_Strict):
    recording: bool | None = None
    whisper: Text | None = None
    press_1: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _press1(cls, data: Any) -> Any:
        """Another docs page (and the alternate flow shape) spells press_1 press1."""
        if isinstance(data, dict) and "press1" in data and "press_1" not in data:
            data = {("press_1" if key == "press1" else key): value for key, value in data.items()}
        return data


class FlowConfig(_Strict):
    """A whole `config_json`: the steps plus flow-level settings."""

    steps: Annotated[list[Step], Field(min_length=1)]
    settings: FlowSettings | None = None


# The published schema of `config_json`: one generic step, its fields per type in one line, instead
# of ten recursive $defs joined by a discriminator (several hundred tokens in every tools/list);
# the full model above still validates every call before anything is sent.
STEP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "greeting: message | forward: destination, timeout_seconds | voicemail: greeting, max_length_seconds, "
        "transcribe | ivr: prompt, options {0-9*#: {label, steps}} | multi_ring, round_robin: destinations | "
        "schedule: windows [{days [mon..], start, end, steps}], closed_steps | zip_code, tag_route: routes "
        "[{match, steps}], default_steps | rtb: failover_steps, zip_prompt, minimum_bid_cents"
    ),
    "properties": {"type": {"enum": list(STEP_TYPES)}},
    "required": ["type"],
}
CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "steps": {"type": "array", "items": STEP_SCHEMA},
        "settings": {"type": "object", "description": "recording, press_1 (bool), whisper (text)"},
    },
    "required": ["steps"],
}


# --- Walking the tree ---------------------------------------------------------------------------------


@dataclass
class Node:
    """One step of the tree, with its full path and depth (1 = top level)."""

    step: Mapping[str, Any]
    path: str
    depth: int


def _branches(step: Mapping[str, Any]) -> Iterator[tuple[str, str, list[Any]]]:
    """(label, heading, step list) for each branch a step holds, in display order.

    The label is also the branch's path: `options.2`, `windows[0]`, `routes[1]`, `closed_steps`.
    """
    kind = step.get("type")
    options = step.get("options")
    if isinstance(options, Mapping):
        for key, option in options.items():
            if isinstance(option, Mapping):
                heading = _quote(option["label"], 40) if option.get("label") else ""
                yield f"options.{key}", heading, _list(option.get("steps"))
    for list_key in ("windows", "routes"):
        for index, branch in enumerate(_list(step.get(list_key))):
            if isinstance(branch, Mapping):
                heading = _window(branch) if list_key == "windows" else _route(kind, branch)
                yield f"{list_key}[{index}]", heading, _list(branch.get("steps"))
    for key, value in step.items():
        if key.endswith("_steps") and isinstance(value, list):
            yield key, "", value


def _steps_of(label: str) -> str:
    """The real path of a branch's step list: `options.2` -> `options.2.steps`."""
    return label if label.endswith("_steps") else f"{label}.steps"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def walk(steps: list[Any], prefix: str = "steps", depth: int = 1) -> Iterator[Node]:
    for index, step in enumerate(steps):
        if not isinstance(step, Mapping):
            continue
        path = f"{prefix}[{index}]"
        yield Node(step, path, depth)
        for label, _, children in _branches(step):
            yield from walk(children, f"{path}.{_steps_of(label)}", depth + 1)


def destinations(config: Mapping[str, Any]) -> list[str]:
    """Every phone number the flow can ring, in first-seen order."""
    seen: dict[str, None] = {}
    for node in walk(_list(config.get("steps"))):
        for number in [node.step.get("destination"), *_list(node.step.get("destinations"))]:
            if isinstance(number, str):
                seen.setdefault(number, None)
    return list(seen)


# Where an rtb step sends calls: to whichever outside buyer bids, a destination no config names.
RTB_BUYERS = "rtb auction buyers"


def reach(config: Mapping[str, Any]) -> list[str]:
    """Where a flow can send calls, for the routing checks: every number it rings, and RTB_BUYERS when
    an rtb step auctions calls (a flow that starts auctioning sends calls outside the business)."""
    auctions = any(node.step.get("type") == "rtb" for node in walk(_list(config.get("steps"))))
    return destinations(config) + ([RTB_BUYERS] if auctions else [])


# --- The outline --------------------------------------------------------------------------------------

_DAY_ORDER = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _days(days: list[Any]) -> str:
    """["mon","tue","wed"] -> "mon-wed"; gaps are listed: "mon,wed,fri"."""
    indices = sorted({_DAY_ORDER.index(d) for d in days if d in _DAY_ORDER})
    runs: list[str] = []
    start = previous = None
    for i in [*indices, None]:
        if start is not None and previous is not None and (i is None or i != previous + 1):
            runs.append(
                _DAY_ORDER[start] if start == previous else f"{_DAY_ORDER[start]}-{_DAY_ORDER[previous]}"
            )
            start = None
        if i is not None and start is None:
            start = i
        previous = i
    return ",".join(runs) or "?"


def _window(window: Mapping[str, Any]) -> str:
    return f"{_days(_list(window.get('days')))} {window.get('start', '?')}-{window.get('end', '?')}"


def _route(kind: Any, route: Mapping[str, Any]) -> str:
    matches = [str(m) for m in _list(route.get("match"))]
    shown = ",".join(matches[:6]) + (f",+{len(matches) - 6}" if len(matches) > 6 else "")
    return f"{'tag' if kind == 'tag_route' else 'zip'} {shown}"


def _quote(text: Any, limit: int = 60) -> str:
    text = " ".join(str(text).split())
    return '"' + (text if len(text) <= limit else text[: limit - 1] + "…") + '"'


def describe(step: Mapping[str, Any]) -> str:
    """One step in a few words: its type and what matters about it (never its branches)."""
    kind = str(step.get("type", "?"))
    parts: list[str] = [kind]
    if kind == "greeting":
        parts.append(
            _quote(step["message"], 100)
            if step.get("message")
            else "(audio)"
            if step.get("audio_url")
            else ""
        )
    elif kind == "forward":
        parts.append(str(step.get("destination", "?")))
        parts.append(f"{step.get('timeout_seconds', 30)}s")
    elif kind in ("multi_ring", "round_robin"):
        parts.append(", ".join(str(d) for d in _list(step.get("destinations"))))
        if step.get("timeout_seconds"):
            parts.append(f"{step['timeout_seconds']}s")
    elif kind == "voicemail":
        if step.get("greeting"):
            parts.append(_quote(step["greeting"], 60))
        if step.get("max_length_seconds"):
            parts.append(f"max {step['max_length_seconds']}s")
        if step.get("transcribe"):
            parts.append("transcribed")
    elif kind == "ivr":
        if step.get("prompt"):
            parts.append(_quote(step["prompt"], 100))
        if step.get("timeout_seconds"):
            parts.append(f"wait {step['timeout_seconds']}s")
    elif kind == "rtb":
        bid = {**RTB_DEFAULTS, **{k: v for k, v in step.items() if v is not None}}
        parts.append(f"auction: ZIP asked ({bid['zip_retries']} retries)")
        if step.get("zip_prompt"):
            parts.append(_quote(step["zip_prompt"], 60))
        parts.append(f"buyers {bid['buyer_timeout_seconds']}s, min bid {_cents(bid['minimum_bid_cents'])}")
    elif kind == "schedule" and step.get("timezone"):
        parts.append(str(step["timezone"]))
    elif kind == "webhook":
        parts.append("(deprecated: skipped when a call runs)")
    return " ".join(p for p in parts if p)


def _cents(value: Any) -> str:
    return f"${value / 100:.2f}" if isinstance(value, int) else str(value)


def _reaching(numbers: list[str], shown: int = 3) -> str:
    """A folded branch names a few of the numbers it rings; `destinations` lists them all."""
    if not numbers:
        return ""
    more = f" +{len(numbers) - shown} more" if len(numbers) > shown else ""
    return " to " + ", ".join(numbers[:shown]) + more


def _setting(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return f"{name} {'on' if value else 'off'}"
    return f"{name} {_quote(value, 40)}"


@dataclass
class Outline:
    lines: list[str]
    step_counts: dict[str, int]
    destinations: list[str]
    max_depth: int
    folded: int = 0  # steps below the depth cut, left out of `lines`

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def outline(config: Mapping[str, Any], *, prefix: str = "steps", max_depth: int | None = None) -> Outline:
    """Indented lines, one per step and branch, each starting with its path label.

    Below `max_depth` a branch is folded into one line counting its steps and naming the first
    numbers it rings; `destinations` always lists every number the flow can reach. One pass over the
    tree gathers the lines, the counts and the numbers (in `walk`'s order, as `destinations` lists them).
    """
    steps = _list(config.get("steps")) if isinstance(config, Mapping) else _list(config)
    lines: list[str] = []
    counts: Counter[str] = Counter()
    rung: dict[str, None] = {}  # every number, first seen first
    deepest = folded = 0

    def visit(steps: list[Any], depth: int, shown: bool, numbers: dict[str, None]) -> int:
        """Count `steps` and their branches, gather the numbers they ring (into `numbers` and `rung`),
        and, if `shown`, write their lines; how many steps there were."""
        nonlocal deepest, folded
        indent = "    " * (depth - 1)  # a branch heading sits 2 deeper than its step, its steps 4
        visited = 0
        for index, step in enumerate(steps):
            if not isinstance(step, Mapping):
                continue
            visited += 1
            deepest = max(deepest, depth)
            counts[str(step.get("type", "?"))] += 1
            for number in [step.get("destination"), *_list(step.get("destinations"))]:
                if isinstance(number, str):
                    numbers.setdefault(number, None)
                    rung.setdefault(number, None)
            if shown:
                label = f"{prefix}[{index}]" if depth == 1 else f"[{index}]"
                lines.append(f"{indent}{label} {describe(step)}")
            for branch, heading, children in _branches(step):
                if not shown:
                    visited += visit(children, depth + 1, False, numbers)
                    continue
                lines.append(f"{indent}  {branch}{' ' + heading if heading else ''}:")
                if max_depth is not None and depth + 1 > max_depth:
                    reached: dict[str, None] = {}
                    inner = visit(children, depth + 1, False, reached)
                    folded += inner
                    lines.append(f"{indent}    … {inner} steps{_reaching(list(reached))}")
                else:
                    visit(children, depth + 1, True, numbers)
        return visited

    visit(steps, 1, True, {})
    settings = config.get("settings") if isinstance(config, Mapping) else None
    # A setting the API sends as null (the alternate flow shape does) is one the flow does not set.
    shown = {k: v for k, v in settings.items() if v is not None} if isinstance(settings, Mapping) else {}
    if shown:
        lines.insert(0, "settings " + ", ".join(_setting(k, v) for k, v in shown.items()))
    return Outline(
        lines=lines,
        step_counts=dict(counts.most_common()),
        destinations=list(rung),
        max_depth=deepest,
        folded=folded,
    )


# --- Paths --------------------------------------------------------------------------------------------

_SEGMENT = re.compile(r"[^.\[\]/]+")


class PathError(ValueError):
    pass


def parse_path(path: str) -> list[str]:
    """`steps[1].options.2.steps[0]`, `steps.1.options.2.steps.0` or `/steps/1/...` -> segments."""
    segments = _SEGMENT.findall(path.strip())
    if not segments:
        raise PathError("path is empty: use the labels of the outline, e.g. steps[1].options.2")
    return segments


def resolve(config: Any, path: str) -> Any:
    """The part of `config` at `path`, or PathError naming the first segment that does not exist."""
    node = config
    walked: list[str] = []
    for segment in parse_path(path):
        if isinstance(node, Mapping) and segment not in node and isinstance(node.get("steps"), list):
            node = node["steps"]  # `options.2[0]` is short for `options.2.steps[0]`, as the outline shows
            walked.append("steps")
        if isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
        elif isinstance(node, Mapping) and segment in node:
            node = node[segment]
        else:
            there = ".".join(walked) or "the top"
            if isinstance(node, list):
                choices = f"an index 0-{len(node) - 1}" if node else "nothing (empty list)"
            elif isinstance(node, Mapping):
                choices = ", ".join(map(str, node)) or "nothing"
            else:
                choices = "nothing (a plain value)"
            raise PathError(f"no {segment!r} at {there}; it holds {choices}")
        walked.append(segment)
    return node


# --- Diffs --------------------------------------------------------------------------------------------

_CONTAINERS = frozenset({"options", "windows", "routes"})


def _short(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return _quote(value, 40) if isinstance(value, str) and " " in value else str(value)


def _summary(step: Mapping[str, Any]) -> str:
    nested = sum(1 for _ in walk([step])) - 1
    return describe(step) + (f" (+{nested} nested steps)" if nested else "")


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What changed from `old` to `new`, one line each: `+ path step`, `- path step`, `~ path: a -> b`.

    Step lists are aligned by content, so inserting a step reads as one insertion rather than as every
    later step changing; paths of removed steps are their old ones.
    """
    changes: list[str] = []
    for key in sorted((set(old) | set(new)) - {"steps"}):
        if old.get(key) != new.get(key):
            changes.append(f"~ {key}: {_short(old.get(key))} -> {_short(new.get(key))}")
    _diff_steps(_list(old.get("steps")), _list(new.get("steps")), "steps", changes)
    return changes


def _diff_steps(old: list[Any], new: list[Any], path: str, out: list[str]) -> None:
    canonical = (
        [json.dumps(step, sort_keys=True) for step in old],
        [json.dumps(s, sort_keys=True) for s in new],
    )
    matcher = difflib.SequenceMatcher(a=canonical[0], b=canonical[1], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        paired = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for k in range(paired):
            _diff_step(old[i1 + k], new[j1 + k], f"{path}[{j1 + k}]", out)
        out.extend(
            f"- {path}[{i}] {_summary(old[i])}" for i in range(i1 + paired, i2) if isinstance(old[i], Mapping)
        )
        out.extend(
            f"+ {path}[{j}] {_summary(new[j])}" for j in range(j1 + paired, j2) if isinstance(new[j], Mapping)
        )


def _diff_step(old: Any, new: Any, path: str, out: list[str]) -> None:
    if not (isinstance(old, Mapping) and isinstance(new, Mapping)) or old.get("type") != new.get("type"):
        out.append(f"~ {path}: {_summary(old)} -> {_summary(new)}")
        return
    for key in sorted(set(old) | set(new)):
        if key in _CONTAINERS or key.endswith("_steps") or old.get(key) == new.get(key):
            continue
        out.append(f"~ {path}.{key}: {_short(old.get(key))} -> {_short(new.get(key))}")
    before = {label: (heading, steps) for label, heading, steps in _branches(old)}
    after = {label: (heading, steps) for label, heading, steps in _branches(new)}
    for label in [*before, *(label for label in after if label not in before)]:
        if label not in after:
            out.append(
                f"- {path}.{label} {before[label][0]} ({len(before[label][1])} steps)".replace("  ", " ")
            )
        elif label not in before:
            out.append(
                f"+ {path}.{label} {after[label][0]} ({len(after[label][1])} steps)".replace("  ", " ")
            )
        else:
            if before[label][0] != after[label][0]:
                out.append(f"~ {path}.{label}: {before[label][0]} -> {after[label][0]}")
            _diff_steps(before[label][1], after[label][1], f"{path}.{label}", out)
