"""Every example in examples/ runs against the sandbox, as a developer would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


def test_demo_runs_end_to_end() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cs_mcp", "demo"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "[10/10]" in done.stdout and "status: done" in done.stdout and "⟦untrusted:" in done.stdout
