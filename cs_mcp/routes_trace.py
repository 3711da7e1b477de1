"""Where one caller goes: their path through a call flow's config, at a moment, with their keys, ZIP and tags.

How a call runs, as cs_mcp reads CallScaler's step types: steps run in order. A greeting plays and the call
goes on; a webhook step is skipped (deprecated). A ringing step (forward, multi_ring, round_robin, and rtb's
winning buyer) ends the call when someone answers; when nobody does, the call goes on to the step's
failover_steps if it has them, else to the next step. Voicemail ends the call. A branching step (schedule,
ivr, zip_code, tag_route) runs the branch the caller's moment, key, ZIP or tags pick, and the call goes on
after it when that branch ends without an end. When the steps run out, the call hangs up.

The trace follows the path as far as it goes when nobody answers, each step after the first ring marked with
the condition that leads there, so one trace answers both "who picks up?" and "what if they don't?".
Schedules read the moment in their own `timezone`, else in the business's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cs_mcp import flows

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RINGING = ("forward", "multi_ring", "round_robin", "rtb")
DEFAULT_RING_SECONDS = 30  # a forward's ring timeout when the step does not say
_CLOCK = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")


@dataclass(frozen=True)
class Caller:
    """Who calls and when: the moment (aware), the keys they will press in order, their ZIP and tags."""

    at: datetime
    keypresses: str = ""
    zip: str | None = None
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TracedStep:
    path: str  # as get_call_flow's outline labels it
    step: str  # the step in a few words
    detail: str  # what it does for this caller, and where the call goes
    when: str | None = None  # the condition that leads here (after a ring nobody answered)


@dataclass
class Trace:
    steps: list[TracedStep] = field(default_factory=list)
    rings: list[str] = field(default_factory=list)  # every number the path rings, in order
    ends: str = (
        "hangup"  # where a caller ends up: the first ring (if answered), a voicemail, a menu, a hang-up
    )
    if_no_answer: str | None = None  # where they end up when no ring on the path is answered


def zone(name: tzinfo | str | None, fallback: tzinfo) -> tzinfo:
    """The zone `name` (a zone already, or its IANA name), or `fallback` when there is none or it is unknown."""
    if isinstance(name, tzinfo):
        return name
    if not name:
        return fallback
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


def moment(text: str, business_zone: tzinfo, now: datetime) -> datetime:
    """When the caller calls: an ISO date and time (in the business's zone unless it carries an offset), or
    HH:MM today in the business's zone. ValueError for anything else, a date alone included (which hour?)."""
    text = text.strip()
    if clock := _CLOCK.fullmatch(text):
        today = now.astimezone(business_zone)
        return today.replace(hour=int(clock[1]), minute=int(clock[2]), second=0, microsecond=0)
    if len(text) <= len("2026-12-01"):
        raise ValueError("give a time of day too")
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=business_zone)


def trace(config: Mapping[str, Any], caller: Caller, business_zone: tzinfo) -> Trace:
    tracer = _Tracer(caller, business_zone)
    if not tracer.run(_steps(config.get("steps")), "steps"):
        tracer.end("hangup")
    return tracer.result


def _steps(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _numbers(step: Mapping[str, Any]) -> list[str]:
    found = [step.get("destination"), step.get("number"), *_steps(step.get("destinations"))]
    return [str(n) for n in found if isinstance(n, str)]


class _Tracer:
    def __init__(self, caller: Caller, business_zone: tzinfo) -> None:
        self.caller = caller
        self.business_zone = business_zone
        self.keys = list(caller.keypresses)
        self.result = Trace()
        self.condition: str | None = None
        self.rang = False

    # -- bookkeeping

    def note(self, path: str, step: Mapping[str, Any], detail: str) -> None:
        self.result.steps.append(TracedStep(path, flows.describe(step), detail, self.condition))

    def ring(self, kind: str, numbers: Sequence[str], unanswered: str) -> None:
        if not self.rang:
            self.result.ends, self.rang = kind, True
        self.result.rings += [n for n in numbers if n not in self.result.rings]
        self.condition = unanswered

    def end(self, outcome: str) -> None:
        if self.rang:
            self.result.if_no_answer = outcome
        else:
            self.result.ends = outcome

    # -- running steps

    def run(self, steps: list[Any], prefix: str) -> bool:
        """Run a step list; True when the call ended in it (nothing after it runs)."""
        for index, step in enumerate(steps):
            if isinstance(step, Mapping) and self.step(step, f"{prefix}[{index}]"):
                return True
        return False

    def step(self, step: Mapping[str, Any], path: str) -> bool:
        kind = str(step.get("type"))
        if kind in ("forward", "multi_ring", "round_robin"):
            return self.ringing(kind, step, path)
        run = {
            "greeting": self.greeting,
            "webhook": self.webhook,
            "voicemail": self.voicemail,
            "ivr": self.ivr,
            "schedule": self.schedule,
            "zip_code": self.routes,
            "tag_route": self.routes,
            "rtb": self.rtb,
        }.get(kind)
        if run is None:
            self.note(path, step, f"a {kind} step, which cs_mcp does not know: the trace goes past it")
            return False
        return run(step, path)

    def greeting(self, step: Mapping[str, Any], path: str) -> bool:
        self.note(path, step, "plays the greeting, then the call goes on")
        return False

    def webhook(self, step: Mapping[str, Any], path: str) -> bool:
        self.note(path, step, "skipped: CallScaler no longer runs webhook steps")
        return False

    def voicemail(self, step: Mapping[str, Any], path: str) -> bool:
        self.note(path, step, "the caller leaves a voicemail; the call ends")
        self.end("voicemail")
        return True

    def ringing(self, kind: str, step: Mapping[str, Any], path: str) -> bool:
        numbers = _numbers(step)
        seconds = step.get("timeout_seconds") or (DEFAULT_RING_SECONDS if kind == "forward" else None)
        within = f" within {seconds}s" if seconds else ""
        listed = ", ".join(numbers) or "(no number)"
        if kind == "forward":
            detail, unanswered = f"rings {listed}{within}", f"{listed} does not answer{within}"
        elif kind == "multi_ring":
            detail, unanswered = f"rings {listed} at once{within}", f"nobody at {listed} answers{within}"
        else:
            detail, unanswered = (
                f"rings one of {listed}, taking turns call by call",
                "the one rung does not answer",
            )
        self.note(path, step, detail + "; an answer ends the call here")
        self.ring(kind, numbers, unanswered)
        failover = _steps(step.get("failover_steps"))
        return bool(failover) and self.run(failover, f"{path}.failover_steps")

    def rtb(self, step: Mapping[str, Any], path: str) -> bool:
        zip_entry = (
            f"the caller keys in ZIP {self.caller.zip}"
            if self.caller.zip
            else f"the caller is asked for a ZIP ({step.get('zip_retries', 3)} tries)"
        )
        bid = int(step.get("minimum_bid_cents") or 0)
        self.note(
            path,
            step,
            f"real-time bidding: {zip_entry}; buyers bid for {step.get('buyer_timeout_seconds', 12)}s"
            + (f", at least {bid / 100:.2f} USD" if bid else "")
            + "; the winning buyer's line rings (outside the business)",
        )
        self.ring("rtb", [], "no buyer bids" + (f" {bid / 100:.2f} USD or more" if bid else ""))
        failover = _steps(step.get("failover_steps"))
        return bool(failover) and self.run(failover, f"{path}.failover_steps")

    def ivr(self, step: Mapping[str, Any], path: str) -> bool:
        options = step.get("options")
        options = options if isinstance(options, Mapping) else {}
        if not self.keys:
            menu = "; ".join(f"{key} {_option(option)}" for key, option in options.items())
            self.note(path, step, f"a menu; no key given, so the trace stops here. Keys: {menu}")
            self.end("menu")
            return True
        key = self.keys.pop(0)
        option = options.get(key)
        if isinstance(option, Mapping):
            self.note(path, step, f"the caller presses {key}: {option.get('label') or 'option ' + key}")
            return self.run(_steps(option.get("steps")), f"{path}.options.{key}.steps")
        invalid = _steps(step.get("invalid_steps"))
        if invalid:
            self.note(
                path, step, f"the caller presses {key}, which is not an option: the invalid-input route"
            )
            return self.run(invalid, f"{path}.invalid_steps")
        self.note(
            path,
            step,
            f"the caller presses {key}, which is not an option; the menu has no invalid-input route",
        )
        return False

    def schedule(self, step: Mapping[str, Any], path: str) -> bool:
        where = zone(step.get("timezone"), self.business_zone)
        local = self.caller.at.astimezone(where)
        day, clock = DAYS[local.weekday()], local.strftime("%H:%M")
        moment = f"{day} {clock} {where}"
        for index, window in enumerate(_steps(step.get("windows"))):
            if (
                isinstance(window, Mapping)
                and day in _steps(window.get("days"))
                and str(window.get("start", "")) <= clock < str(window.get("end", ""))
            ):
                hours = f"{window.get('start')}-{window.get('end')}"
                self.note(path, step, f"{moment}: open (window {index}, {hours})")
                return self.run(_steps(window.get("steps")), f"{path}.windows[{index}].steps")
        self.note(path, step, f"{moment}: outside every window, so the closed route")
        return self.run(_steps(step.get("closed_steps")), f"{path}.closed_steps")

    def routes(self, step: Mapping[str, Any], path: str) -> bool:
        by_zip = step.get("type") == "zip_code"
        if by_zip:
            wanted = {self.caller.zip} if self.caller.zip else set()
            what = f"ZIP {self.caller.zip}"
        else:
            wanted = {tag.casefold() for tag in self.caller.tags}
            what = "tags " + ", ".join(sorted(self.caller.tags))
        for index, route in enumerate(_steps(step.get("routes"))):
            if isinstance(route, Mapping) and wanted & {
                str(m).casefold() for m in _steps(route.get("match"))
            }:
                self.note(path, step, f"{what} matches route {index}")
                return self.run(_steps(route.get("steps")), f"{path}.routes[{index}].steps")
        given = "zip" if by_zip else "tags"
        reason = (
            f"{what} matches no route" if wanted else f"no {given} given (pass {given} to follow a route)"
        )
        self.note(path, step, f"{reason}: the default route")
        return self.run(_steps(step.get("default_steps")), f"{path}.default_steps")


def _option(option: Any) -> str:
    """An ivr option as the menu line names it: its label and where it rings."""
    if not isinstance(option, Mapping):
        return "?"
    rings = flows.destinations({"steps": _steps(option.get("steps"))})
    label = str(option.get("label") or "")
    return (label + (f" (rings {', '.join(rings)})" if rings else "")).strip()
