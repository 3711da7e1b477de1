"""Every example in examples/ runs against the sandbox, as a developer would run it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cs_mcp.demo import cut

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(name: str, *argv: str) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_weekly_report_prints_calls_by_source_and_silent_numbers() -> None:
    out = run("weekly_report.py")
    assert out.startswith("# Calls ") and "| source | calls | qualified % |" in out
    assert "missed" in out and "## Numbers with no calls ever: " in out


def test_confirm_purchase_buys_once_and_refuses_a_replay() -> None:
    out = run("confirm_purchase.py", "--yes")
    assert "Preview: Buy +1813" in out and "Done: Buy" in out
    assert "Replaying the token is refused: True" in out


def test_agent_loop_answers_and_reports_tool_errors_back() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "agent_loop.py")],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert "list_numbers" in done.stderr and "get_number({'number': '+00'}) -> error" in done.stderr
    assert "numbers have had no calls:" in done.stdout


def test_demo_runs_end_to_end_and_explains_itself() -> None:
    width = 100
    done = subprocess.run(
        [sys.executable, "-m", "cs_mcp", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": str(width)},
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "[11/11]" in out and "status: done" in out and "⟦untrusted:" in out
    # What it is about, before any tool call.
    introduction = out[: out.index("[1/11]")]
    assert "CallScaler is a call-tracking service" in introduction
    assert '"Acme Plumbing & Air"' in introduction and "made up" in introduction
    for term in ("call flow", "qualified", "ai_score", "tcr_sw_state"):
        assert f"\n  {term} " in introduction, term
    # Tool answers are cut to the terminal, with an ellipsis, and every fence stays closed.
    tour = out[out.index("[1/11]") : out.index("Done:")]
    answers = [line for line in tour.splitlines() if line.startswith("    ")]
    assert all(len(line) <= width for line in answers)
    assert any(line.endswith((" …", "…⟧")) for line in answers)
    assert all(line.count("⟦") == line.count("⟧") for line in out.splitlines())
    assert not re.search(r"\b(True|False)\b", out)
    # It ends by saying how to connect an assistant, with a command that runs here.
    ending = out[out.index("Connect an assistant") :]
    assert "claude mcp add --scope user callscaler -- " in ending and '"mcpServers"' in ending


@pytest.mark.parametrize(
    ("line", "width", "expected"),
    [
        ("    short", 24, "    short"),
        ("    name=" + "x" * 40, 24, "    name=" + "x" * 13 + " …"),
        # Enough of the fenced text shows: the cut is inside the fence, and the fence is closed again.
        ("    body=⟦untrusted: " + "y" * 40 + "⟧", 36, "    body=⟦untrusted: " + "y" * 13 + "…⟧"),
        # Too little would show: the cut moves before the fence.
        ("    a=1; body=⟦untrusted: " + "y" * 40 + "⟧", 36, "    a=1; body= …"),
    ],
)
def test_demo_cuts_lines_outside_fences_or_closes_the_fence(line: str, width: int, expected: str) -> None:
    assert cut(line, width) == expected
