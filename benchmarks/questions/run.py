"""The harness: every question's plan through a real in-process cs_mcp server (manager role, the SDK's
`Client`), each answer read by its extractor and held against the exact answer of answers.py.

A plan step whose tool, argument or argument value the server does not offer yet (issue 17's tools are
being built on other branches) is not called: the question is reported "not answerable yet", naming
what is missing, so the benchmark runs today and measures more as the pieces land.

    python -m benchmarks.questions.run                 # scale 100 (a minute or two)
    python -m benchmarks.questions.run --scale 1 --only top_caller_90d --only dashboard_7d
    python -m benchmarks.questions.run --write         # also put the lines in BENCHMARKS.md's section
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mcp.client import Client

from benchmarks.questions import when
from benchmarks.questions.answers import ANSWERS, Raw, load
from benchmarks.questions.expect import matches, shown
from benchmarks.questions.questions import QUESTIONS, Question
from cs_mcp.config import Settings
from cs_mcp.sandbox import Sandbox, SandboxTransport
from cs_mcp.server import build_server
from cs_mcp.token_count import count_tokens

BENCHMARKS = Path(__file__).resolve().parents[2] / "BENCHMARKS.md"
# BENCHMARKS.md's last section, written here and kept when `python -m benchmarks.run --write` rewrites the rest.
SECTION_HEADING = "## Questions, one by one"
EXACT, WRONG, UNREADABLE, ERROR, WAITING = "exact", "wrong", "unreadable", "error", "not answerable yet"
# Wrong, but the answer said it was not complete and why (e.g. records the API does not return).
SAID_INCOMPLETE = "short, and said so"


@dataclass
class Outcome:
    question: Question
    text: str  # the question with its subjects filled in
    status: str
    detail: str = ""
    tokens: list[int] = field(default_factory=list)  # per call made: both copies together
    larger: list[int] = field(default_factory=list)  # per call made: the larger copy (what the budget counts)

    @property
    def calls(self) -> int:
        return len(self.tokens)

    def line(self) -> str:
        status = f"{self.status}: {self.detail}" if self.detail else self.status
        spent = f"{self.calls} call(s), {max(self.tokens, default=0):,} tok" if self.tokens else "-"
        return f"{self.question.id:<34} {spent:<22} {status}"


@dataclass(frozen=True)
class Report:
    outcomes: list[Outcome]
    scale: int

    def share(self, *, calls: int | None = None) -> float:
        hits = [o for o in self.outcomes if o.status == EXACT and (calls is None or o.calls == calls)]
        return len(hits) / len(self.outcomes)

    @property
    def result_tokens(self) -> list[int]:
        return [t for o in self.outcomes for t in o.tokens]

    @property
    def larger_copies(self) -> list[int]:
        return [t for o in self.outcomes for t in o.larger]

    def waiting_on(self) -> Counter[str]:
        return Counter(o.detail for o in self.outcomes if o.status == WAITING)

    def summary(self) -> str:
        def spent(tokens: list[int]) -> str:
            return f"median {statistics.median(tokens):,.0f}, max {max(tokens):,}" if tokens else "none"

        waiting = ", ".join(f"{piece} ({n})" for piece, n in self.waiting_on().most_common())
        short = sum(o.status == SAID_INCOMPLETE for o in self.outcomes)
        return (
            f"{len(self.outcomes)} questions at scale {self.scale} (now {when.NOW:%Y-%m-%d %H:%M} UTC): "
            f"answered exactly {self.share():.0%} (in one call {self.share(calls=1):.0%}, in two "
            f"{self.share(calls=2):.0%}; short and said so: {short}); result tokens, both copies together "
            f"{spent(self.result_tokens)}; the larger copy (what the output budget counts) "
            f"{spent(self.larger_copies)}.\n"
            f"Not answerable yet, waiting on: {waiting or 'nothing'}"
        )


# --- Plans against the server's tool list -------------------------------------------------------------


def allowed_values(schema: Mapping[str, Any]) -> set[Any] | None:
    """The values an argument's schema enumerates (of its items, for a list), or None when open."""
    for candidate in (schema, schema.get("items") or {}, *schema.get("anyOf", ())):
        if isinstance(candidate, Mapping) and "enum" in candidate:
            return set(candidate["enum"])
        if isinstance(candidate, Mapping) and isinstance(candidate.get("items"), Mapping):
            inner = candidate["items"].get("enum")
            if inner is not None:
                return set(inner)
    return None


def missing_piece(
    schemas: Mapping[str, Mapping[str, Any]], tool: str, arguments: Mapping[str, Any]
) -> str | None:
    """What the server lacks for this call: the tool, an argument, or a value an argument's enum lacks."""
    if tool not in schemas:
        return tool
    properties = schemas[tool].get("properties", {})
    for name, value in arguments.items():
        if name not in properties:
            return f"{tool}({name})"
        allowed = allowed_values(properties[name])
        for item in value if isinstance(value, list) else [value]:
            if allowed is not None and item not in allowed:
                return f"{tool}({name}={item})"
    return None


def filled(value: Any, subjects: Mapping[str, str]) -> Any:
    """The argument with the question's subjects ("{top_caller}") filled in."""
    if isinstance(value, str) and "{" in value:
        return value.format(**subjects)
    if isinstance(value, list):
        return [filled(v, subjects) for v in value]
    return value


def copy_tokens(result: Any) -> tuple[int, int]:
    """The tokens of each copy of a result: its structuredContent JSON, and its text."""
    text = "\n".join(block.text for block in result.content if getattr(block, "type", "") == "text")
    structured = json.dumps(result.structured_content, separators=(",", ":"), ensure_ascii=False)
    return count_tokens(structured), count_tokens(text)


def said_incomplete(results: Sequence[Mapping[str, Any]]) -> str | None:
    """Why an answer said it was not complete (a search's `complete: false`), if one did."""
    for result in results:
        if result.get("complete") is False:
            searched = result.get("searched") or {}
            return (
                "; ".join(f"{kind}: {how}" for kind, how in searched.items() if "not" in how) or "incomplete"
            )
    return None


async def ask(
    client: Client, schemas: Mapping[str, Mapping[str, Any]], question: Question, raw: Raw
) -> Outcome:
    subjects = raw.subjects
    outcome = Outcome(question, question.text.format(**subjects), WAITING)
    for step in question.steps:  # every tool first: a later step's arguments need earlier results
        if step.tool not in schemas:
            outcome.detail = step.tool
            return outcome
    results: list[Mapping[str, Any]] = []
    for step in question.steps:
        given = step.arguments(results) if callable(step.arguments) else step.arguments
        arguments = {name: filled(value, subjects) for name, value in given.items()}
        if piece := missing_piece(schemas, step.tool, arguments):
            outcome.detail = piece
            return outcome
        result = await client.call_tool(step.tool, arguments)
        if result.is_error:
            message = " ".join(getattr(block, "text", "") for block in result.content)
            outcome.status, outcome.detail = ERROR, f"{step.tool}: {message[:200]}"
            return outcome
        copies = copy_tokens(result)
        outcome.tokens.append(sum(copies))
        outcome.larger.append(max(copies))
        results.append(result.structured_content or {})
    expected = ANSWERS[question.id](raw)
    try:
        got = question.extract(results)
    except (KeyError, IndexError, TypeError, ValueError, StopIteration) as exc:
        outcome.status, outcome.detail = UNREADABLE, f"{type(exc).__name__}: {shown(exc, 100)}"
        return outcome
    if matches(expected, got):
        outcome.status = EXACT
    else:
        outcome.status, outcome.detail = WRONG, f"got {shown(got)}, expected {shown(expected)}"
        if why := said_incomplete(results):
            outcome.status, outcome.detail = SAID_INCOMPLETE, f"{outcome.detail}; it said: {why[:300]}"
    return outcome


async def measure(
    scale: int = 100, questions: Sequence[Question] = QUESTIONS, sandbox: Sandbox | None = None
) -> Report:
    """Every question asked of one server in front of one sandbox (built at the benchmark's `now`)."""
    sandbox = sandbox or Sandbox(scale=scale, now=when.NOW)
    raw = await load(sandbox)
    server = build_server(Settings.for_sandbox("manager"), transport=SandboxTransport(sandbox))
    async with Client(server) as client:
        schemas = {tool.name: tool.input_schema for tool in (await client.list_tools()).tools}
        outcomes = [await ask(client, schemas, question, raw) for question in questions]
    return Report(outcomes, scale)


def section(report: Report) -> str:
    today = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = "\n".join(outcome.line() for outcome in report.outcomes)
    return (
        f"{SECTION_HEADING}\n\n"
        f"Measured {today} by `python -m benchmarks.questions.run --write` (benchmarks/questions: the "
        "questions and their plans in questions.py, the exact answers in answers.py). Per question: its "
        "calls, the largest result in o200k tokens (structuredContent JSON and text together), and whether the "
        "answer read from the results is exact.\n\n"
        f"```\n{lines}\n\n{report.summary()}\n```\n"
    )


def kept_section(text: str) -> str:
    """The questions section of a BENCHMARKS.md text, or nothing."""
    start = text.find(SECTION_HEADING)
    return text[start:] if start >= 0 else ""


def write_section(report: Report, path: Path = BENCHMARKS) -> None:
    text = path.read_text() if path.exists() else ""
    before = text[: len(text) - len(kept_section(text))].rstrip("\n")
    path.write_text(f"{before}\n\n{section(report)}" if before else section(report))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument("--only", action="append", default=[], help="a question id (repeatable)")
    parser.add_argument("--questions", action="store_true", help="also print each question's text")
    parser.add_argument("--write", action="store_true", help=f"write the lines to {BENCHMARKS.name}")
    args = parser.parse_args(argv)
    unknown = set(args.only) - {q.id for q in QUESTIONS}
    if unknown:
        parser.error(f"unknown question id(s): {', '.join(sorted(unknown))}")
    chosen = [q for q in QUESTIONS if not args.only or q.id in args.only]
    report = asyncio.run(measure(args.scale, chosen))
    for outcome in report.outcomes:
        print(outcome.line())
        if args.questions:
            print(f"{'':<34} {outcome.text}")
    print(f"\n{report.summary()}")
    if args.write:
        write_section(report)
    return 0 if report.share() == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
