"""The question benchmark's own machinery (benchmarks/questions), at scale 1: the exact answers come from
the raw sandbox, the harness reports questions today's tools answer as answered exactly, a wrong
extractor as wrong, and a plan the server cannot follow yet as not answerable, naming what is missing."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from benchmarks.questions import when
from benchmarks.questions.answers import ANSWERS, load
from benchmarks.questions.expect import Approx, Top, matches
from benchmarks.questions.questions import QUESTIONS, Question, Step, total
from benchmarks.questions.run import (
    EXACT,
    SAID_INCOMPLETE,
    SECTION_HEADING,
    WAITING,
    WRONG,
    kept_section,
    measure,
    write_section,
)
from cs_mcp.sandbox import Sandbox

pytestmark = pytest.mark.anyio

# Answered by tools on main before issue 17's pieces land; none of their arguments is changed by them.
ANSWERED_TODAY = (
    "numbers_without_calls",
    "failed_deliveries_7d",
    "top_caller_calls_since_october",
    "dashboard_7d",
    "unread_conversations",
)


@pytest.fixture(scope="module")
def small() -> Sandbox:
    return Sandbox(scale=1, now=when.NOW)


def question(qid: str) -> Question:
    return next(q for q in QUESTIONS if q.id == qid)


def test_every_question_has_an_exact_answer() -> None:
    assert len(QUESTIONS) >= 40
    assert len({q.id for q in QUESTIONS}) == len(QUESTIONS)
    assert {q.id for q in QUESTIONS} == set(ANSWERS)
    assert all(1 <= len(q.steps) <= 2 for q in QUESTIONS)


async def test_the_answers_come_from_the_raw_sandbox(small: Sandbox) -> None:
    raw = await load(small)
    answers = {qid: compute(raw) for qid, compute in ANSWERS.items()}
    # Spot checks against the API's own view of the same data.
    assert answers["numbers_without_calls"] == sum(not n["total_calls"] for n in small.state["numbers"])
    assert answers["unread_conversations"] == sum(bool(c["unread"]) for c in small.state["conversations"])
    assert answers["route_press_3_at_7pm"] == ("voicemail", [])  # Main Sales Flow is closed at 7 pm


async def test_questions_todays_tools_answer_are_answered_exactly(small: Sandbox) -> None:
    report = await measure(sandbox=small, questions=[question(qid) for qid in ANSWERED_TODAY])
    assert [(o.question.id, o.status, o.detail) for o in report.outcomes] == [
        (qid, EXACT, "") for qid in ANSWERED_TODAY
    ]
    assert report.share() == report.share(calls=1) == 1
    assert all(0 < t < 2000 for t in report.result_tokens)


async def test_a_wrong_extractor_is_reported_wrong(small: Sandbox) -> None:
    off_by_one = dataclasses.replace(
        question("numbers_without_calls"), extract=lambda results: total(results) + 1
    )
    (outcome,) = (await measure(sandbox=small, questions=[off_by_one])).outcomes
    assert outcome.status == WRONG
    assert outcome.detail.startswith("got ") and "expected" in outcome.detail
    assert outcome.calls == 1


async def test_a_short_answer_that_says_so_is_told_apart_from_a_wrong_one(small: Sandbox) -> None:
    """The forms API returns each form's recent submissions only: a count over all of them comes out short,
    and search_text says which were not read; that is not the same failure as a wrong answer."""
    (outcome,) = (await measure(sandbox=small, questions=[question("forms_banging")])).outcomes
    assert outcome.status == SAID_INCOMPLETE
    assert "the API returns only each form's most recent submissions" in outcome.detail
    assert outcome.detail.startswith("got ") and "expected" in outcome.detail


async def test_a_plan_the_server_cannot_follow_yet_names_what_is_missing(small: Sandbox) -> None:
    base = question("numbers_without_calls")

    def planned(*steps: Step) -> Question:
        return dataclasses.replace(base, steps=steps)

    plans = [
        planned(Step("no_such_tool", {})),
        planned(Step("list_numbers", {"no_such_argument": 1})),
        planned(Step("get_call_analytics", {"group_by": ["source", "no_such_dimension"]})),
        planned(Step("list_numbers", {"limit": 1}), Step("no_such_tool", lambda results: {})),
    ]
    report = await measure(sandbox=small, questions=plans)
    assert [(o.status, o.detail, o.calls) for o in report.outcomes] == [
        (WAITING, "no_such_tool", 0),
        (WAITING, "list_numbers(no_such_argument)", 0),
        (WAITING, "get_call_analytics(group_by=no_such_dimension)", 0),
        (WAITING, "no_such_tool", 0),  # checked before any call is made
    ]
    assert report.share() == 0
    assert report.waiting_on()["no_such_tool"] == 2


def test_matching_ties_and_rounding() -> None:
    tied = Top(("+13055521364", "+18135009923"), 20)
    assert matches(tied, ("+18135009923", 20))
    assert not matches(tied, ("+18135009923", 19))
    assert not matches(tied, ("+19046993583", 20))
    assert matches({"google": Approx(69.8)}, {"google": 69.8})
    assert not matches({"google": Approx(69.8)}, {"google": 69.9})
    assert not matches({"google": Approx(69.8)}, {"google": 69.8, "bing": 70.0})
    assert not matches(1, True)
    assert matches(["a", 2], ("a", 2))


async def test_the_benchmarks_file_keeps_one_questions_section(small: Sandbox, tmp_path: Path) -> None:
    report = await measure(sandbox=small, questions=[question("unread_conversations")])
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\n| table |\n")
    write_section(report, path)
    write_section(report, path)  # again: replaces its section, keeps the rest
    text = path.read_text()
    assert text.startswith("# Benchmarks\n\n| table |\n\n## Questions")
    assert text.count(SECTION_HEADING) == 1
    assert "unread_conversations" in text and kept_section(text).startswith(SECTION_HEADING)
