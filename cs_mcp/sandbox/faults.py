"""Faults: what a flaky network and a flaky API do to a client, described and chosen per request.

Faults are switched on per test (`FaultInjector.add`), from the command line (`FaultInjector.parse`
specs) or over HTTP (`/_sandbox/faults`). Each may be limited to a path glob, a method, a number of
times or a probability (drawn from a seeded RNG, so runs repeat). `fault_layer` applies them.

A variant is switched on the same way: not a failure but another documented form of the API's answers
(`flow_shape=alternate`). The fault layer hands the variants that match a request to the app, which
answers in that form; they combine with latency and with any one fault.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase
from http import HTTPStatus
from typing import Any

from cs_mcp.sandbox.request_log import RequestLog

# When each kind can strike (the first is its default): "before" the API sees the request, so nothing is
# applied, or "after" the API acted and committed its change.
PHASES: dict[str, tuple[str, ...]] = {
    "latency": ("before",),
    "refuse": ("before",),
    "timeout": ("before", "after"),
    "status": ("before", "after"),
    "flat_error": ("before", "after"),
    "drop": ("after",),
    "malformed": ("after",),
    "no_envelope": ("after",),
    "flow_shape": ("after",),  # a variant: the API acts as usual and answers in another shape
}
KINDS = tuple(PHASES)
# Variants, each with the forms it can take (the first is its default) and the paths it concerns.
VARIANTS: dict[str, tuple[tuple[str, ...], str]] = {
    "flow_shape": (("alternate", "documented"), "/call-flows*")
}
# The option a kind's `=value` sets in a spec such as `status=503` or `latency=20ms`.
MAIN_OPTION = {
    "latency": "ms",
    "timeout": "seconds",
    "status": "status",
    "flat_error": "status",
    "flow_shape": "shape",
}
ALIASES = {"prob": "probability", "p": "probability", "retry-after": "retry_after"}
# The scope key under which the fault layer hands a request's variants (kind -> form) to the app.
VARIANTS_SCOPE_KEY = "cs_mcp.sandbox.variants"
ERROR_STATUSES = frozenset(status.value for status in HTTPStatus if 400 <= status.value <= 599)


@dataclass
class Fault:
    """One fault; the package docstring describes each kind.

    `status`: the HTTP status (status, flat_error); `ms`: added latency; `seconds`: how long a timeout
    holds; `retry_after`: the 429's header; `path` (a glob after /api/v1) and `method`: which requests;
    `times`: fire that often, then stop; `probability`: fire on that share of matches; `when`: "before"
    the API sees the request or "after" it acted (each kind allows what PHASES lists); `shape`: the form a
    variant answers in (flow_shape: alternate, the default, or documented).
    """

    kind: str
    status: int | None = None
    ms: float = 0.0
    seconds: float = 30.0
    retry_after: int | None = None
    path: str | None = None
    method: str | None = None
    times: int | None = None
    probability: float = 1.0
    when: str | None = None  # "before" | "after"; None: the kind's default (see PHASES)
    shape: str | None = None
    fired: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r} (kinds: {', '.join(KINDS)})")
        if self.kind == "status" and self.status is None:
            raise ValueError("a status fault needs a status, e.g. status=503")
        if self.kind == "flat_error" and self.status is None:
            self.status = 401
        if self.status is not None and self.status not in ERROR_STATUSES:
            raise ValueError(f"status must be an HTTP error status (400-599), not {self.status}")
        if self.status == 429 and self.retry_after is None:
            self.retry_after = 1
        if (
            self.ms < 0
            or self.seconds <= 0
            or not 0 <= self.probability <= 1
            or (self.times is not None and self.times < 1)
        ):
            raise ValueError("ms must be >= 0, seconds > 0, probability within 0..1 and times >= 1")
        if self.kind in VARIANTS:
            shapes, paths = VARIANTS[self.kind]
            self.shape = self.shape or shapes[0]
            self.path = self.path or paths
            if self.shape not in shapes:
                raise ValueError(f"{self.kind} is one of {', '.join(shapes)}, not {self.shape!r}")
        self.method = self.method.upper() if self.method else None
        phases = PHASES[self.kind]
        self.when = (self.when or phases[0]).lower()
        if self.when not in phases:
            raise ValueError(
                f"a {self.kind} fault strikes {' or '.join(phases)} the API acts, not {self.when!r}"
            )

    def matches(self, method: str, path: str) -> bool:
        return (
            (self.times is None or self.fired < self.times)
            and (self.method is None or self.method == method)
            and (self.path is None or fnmatchcase(path, self.path))
        )

    def describe(self) -> dict[str, Any]:
        return asdict(self)


def _duration(value: Any, unit: str) -> float:
    """`20ms`, `1.5s` or a bare number in `unit` ("ms" or "s") -> that unit."""
    text = str(value).strip().lower()
    scale = {"ms": {"ms": 1.0, "s": 1000.0}, "s": {"ms": 0.001, "s": 1.0}}[unit]
    for suffix in ("ms", "s"):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * scale[suffix]
    return float(text)


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "status": int,
    "retry_after": int,
    "times": int,
    "probability": float,
    "ms": lambda v: _duration(v, "ms"),
    "seconds": lambda v: _duration(v, "s"),
    "path": str,
    "method": str,
    "when": str,
    "shape": str,
}


def make_fault(kind: str, **options: Any) -> Fault:
    """A Fault from loosely typed options (strings from a spec or JSON values); ValueError if invalid."""
    unknown = set(options) - set(_CONVERT)
    if unknown:
        raise ValueError(
            f"unknown fault option(s) {', '.join(sorted(unknown))} (options: {', '.join(_CONVERT)})"
        )
    try:
        converted = {key: _CONVERT[key](value) for key, value in options.items() if value is not None}
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad fault option value: {exc}") from None
    return Fault(kind, **converted)


@dataclass
class Plan:
    """What happens to one request: added latency (seconds), a fault, and variants (kind -> form)."""

    delay: float = 0.0
    fault: Fault | None = None
    variants: dict[str, str] = field(default_factory=dict)

    def takes(self, fault: Fault) -> bool:
        """Latencies add up; the first fault, and the first of each variant, is the one that applies."""
        if fault.kind == "latency":
            return True
        if fault.kind in VARIANTS:
            return fault.kind not in self.variants
        return self.fault is None


class FaultInjector:
    """The active faults and the log of requests that reached the API."""

    def __init__(self, seed: int = 0) -> None:
        self.faults: list[Fault] = []
        self.requests = RequestLog()  # every request that reached the API, faulted or not
        self._rng = random.Random(seed)

    @staticmethod
    def parse(spec: str) -> Fault:
        """Parse `kind[=value][:option=value]...`.

        E.g. `latency=20ms`, `timeout=5s:when=after`, `status=429:retry_after=1:times=3:path=/numbers*`,
        `status=500:when=after:method=POST`, `refuse:method=POST`, `drop:method=POST`.
        """
        head, *parts = spec.strip().split(":")
        kind, has_value, value = head.partition("=")
        options: dict[str, Any] = {}
        if has_value:
            if kind not in MAIN_OPTION:
                raise ValueError(f"fault {kind!r} takes no value (in {spec!r})")
            options[MAIN_OPTION[kind]] = value
        for part in parts:
            key, has_value, value = part.partition("=")
            if not has_value:
                raise ValueError(f"expected option=value, got {part!r} (in {spec!r})")
            options[ALIASES.get(key, key)] = value
        return make_fault(kind, **options)

    def add(self, kind: str, **options: Any) -> Fault:
        """E.g. `add("status", status=500, when="after", path="/texts")`; see `Fault` for the options."""
        fault = make_fault(kind, **options)
        self.faults.append(fault)
        return fault

    def add_spec(self, spec: str) -> Fault:
        fault = self.parse(spec)
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()

    def counts(self) -> Counter[tuple[str, str]]:
        """Requests seen per (method, path)."""
        return self.requests.counts()

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """Requests seen, optionally only those with this method and/or matching this path glob."""
        return self.requests.matching(method, path)

    def plan(self, method: str, path: str) -> Plan:
        """For one request: the added latency, the first fault that is neither latency nor a variant,
        and the first form of each variant."""
        plan = Plan()
        for fault in self.faults:
            if not (fault.matches(method, path) and plan.takes(fault)):
                continue
            if fault.probability < 1 and self._rng.random() >= fault.probability:
                continue
            fault.fired += 1
            if fault.kind == "latency":
                plan.delay += fault.ms / 1000
            elif fault.kind in VARIANTS:
                plan.variants[fault.kind] = str(fault.shape)
            else:
                plan.fault = fault
        return plan


def fault_from_json(document: Mapping[str, Any]) -> Fault:
    """A fault from the control JSON: `{"spec": "status=503:times=2"}` or `{"kind": ..., **options}`."""
    if "spec" in document:
        return FaultInjector.parse(str(document["spec"]))
    options = dict(document)
    kind = options.pop("kind", None)
    if not isinstance(kind, str):
        raise ValueError(f"a fault needs a 'kind' (one of {', '.join(KINDS)}) or a 'spec'")
    return make_fault(kind, **options)
