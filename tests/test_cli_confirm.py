"""`cs-mcp call` finishes what it starts: on a terminal it asks the person; without one it prints the
token and the command that confirms it, which a later process can run (tokens live in the state store)."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from cs_mcp.cli import NOT_DONE, question_for
from cs_mcp.config import Settings
from cs_mcp.guardrails import Preview
from cs_mcp.inprocess import call_tool, call_with_consent, pending_token

MANAGER = ("--sandbox", "--role", "manager")
CLEAN_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}


@pytest.fixture(autouse=True)
def state_of_this_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's commands share one state file of their own (caps and tokens never leak between tests)."""
    state = tmp_path / "state.sqlite3"
    monkeypatch.setitem(CLEAN_ENV, "CS_MCP_STATE", str(state))
    return state


def number_for_sale() -> str:
    async def search() -> str:
        result = await call_tool(
            Settings.for_sandbox("manager"), "search_available_numbers", {"area_code": "813", "limit": 1}
        )
        assert result.structured_content is not None, result
        return result.structured_content["numbers"][0]["phone_number"]

    return anyio.run(search)


def run_without_terminal(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cs_mcp", *argv],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env=CLEAN_ENV,
    )


def run_on_terminal(argv: list[str], answer: str | None) -> tuple[int, str, str]:
    """Run with stdin and stderr on a pseudo-terminal, answer the question once it shows (None: press
    Ctrl-C instead), and return (exit status, stdout, what the terminal showed)."""
    controller, terminal = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "cs_mcp", *argv],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=CLEAN_ENV,
    )
    os.close(terminal)
    shown = b""
    try:
        while b"[y/N]" not in shown:
            ready, _, _ = select.select([controller], [], [], 60)
            assert ready, f"no question within 60 s; the terminal showed {shown!r}"
            shown += os.read(controller, 4096)
        if answer is None:
            child.send_signal(signal.SIGINT)
        else:
            os.write(controller, answer.encode() + b"\n")
        stdout, _ = child.communicate(timeout=60)
        while select.select([controller], [], [], 0)[0]:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the child closed its side of the terminal
                break
            if not chunk:
                break
            shown += chunk
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(controller)
    return child.returncode, stdout.decode(), shown.decode()


def test_on_a_terminal_yes_buys_in_the_same_process() -> None:
    number = number_for_sale()
    status, stdout, shown = run_on_terminal(
        ["call", "purchase_number", f"phone_number={number}", *MANAGER], "y"
    )
    assert f"Buy {number} (Tampa) for 1.15 USD a month? [y/N]" in shown
    assert status == 0, (stdout, shown)
    assert "status: done" in stdout and number in stdout


@pytest.mark.parametrize("answer", ["n", ""])
def test_on_a_terminal_anything_but_yes_does_nothing(answer: str) -> None:
    number = number_for_sale()
    status, stdout, shown = run_on_terminal(
        ["call", "purchase_number", f"phone_number={number}", *MANAGER], answer
    )
    assert status == NOT_DONE
    assert "Declined: nothing was done." in shown
    assert "done" not in stdout


def test_ctrl_c_at_the_question_ends_the_command_and_does_nothing() -> None:
    number = number_for_sale()
    status, stdout, _ = run_on_terminal(["call", "purchase_number", f"phone_number={number}", *MANAGER], None)
    assert status == 130
    assert "done" not in stdout


def token_of(done: subprocess.CompletedProcess[str]) -> str:
    return next(
        line.split(": ", 1)[1] for line in done.stdout.splitlines() if line.startswith("confirmation_token")
    )


def test_without_a_terminal_the_printed_command_confirms_in_a_later_process() -> None:
    number = number_for_sale()
    done = run_without_terminal("call", "purchase_number", f"phone_number={number}", *MANAGER)
    assert done.returncode == NOT_DONE, done.stderr
    assert "status: needs_confirmation" in done.stdout
    command = f"cs-mcp call purchase_number phone_number={number} --sandbox --role manager confirmation_token={token_of(done)}"
    assert command in done.stderr and "within 5 minutes" in done.stderr
    # The printed command, run as a later process, redeems the token; once.
    later = run_without_terminal(*command.split()[1:])
    assert later.returncode == 0, (later.stdout, later.stderr)
    assert "status: done" in later.stdout and number in later.stdout
    again = run_without_terminal(*command.split()[1:])
    assert again.returncode == 1 and "confirmation_token is not valid" in again.stdout


def test_without_a_terminal_and_a_memory_store_it_says_no_later_command_can_confirm() -> None:
    number = number_for_sale()
    done = run_without_terminal(
        "call", "purchase_number", f"phone_number={number}", *MANAGER, "--state", ":memory:"
    )
    assert done.returncode == NOT_DONE and "no later command can redeem it" in done.stderr
    later = run_without_terminal(
        "call",
        "purchase_number",
        f"phone_number={number}",
        *MANAGER,
        "--state",
        ":memory:",
        f"confirmation_token={token_of(done)}",
    )
    assert later.returncode == 1 and "confirmation_token is not valid" in later.stdout


def test_without_a_terminal_json_output_stays_pure_json() -> None:
    number = number_for_sale()
    done = run_without_terminal("call", "purchase_number", f"phone_number={number}", *MANAGER, "--json")
    assert done.returncode == NOT_DONE
    assert json.loads(done.stdout)["status"] == "needs_confirmation"


def test_consent_sees_the_preview_and_its_answer_decides() -> None:
    settings = Settings.for_sandbox("manager")
    number = number_for_sale()
    seen: list[Preview] = []

    def refuse(preview: Preview) -> bool:
        seen.append(preview)
        return False

    refused = call_with_consent(settings, "purchase_number", {"phone_number": number}, refuse)
    assert pending_token(refused) is not None and seen[0].monthly_cost_cents == 115
    bought = call_with_consent(settings, "purchase_number", {"phone_number": number}, lambda _: True)
    assert bought.structured_content is not None and bought.structured_content["status"] == "done"


def test_the_question_carries_the_cost_once() -> None:
    priced = Preview(action="Buy +18135550100 (Tampa)", monthly_cost_cents=115)
    assert question_for(priced) == "Buy +18135550100 (Tampa) for 1.15 USD a month? [y/N] "
    said = Preview(action="Buy +18135550100 (Tampa) for 1.15 USD a month.", monthly_cost_cents=115)
    assert question_for(said) == "Buy +18135550100 (Tampa) for 1.15 USD a month? [y/N] "
    assert question_for(Preview(action="Release +18135550100")) == "Release +18135550100? [y/N] "


def test_call_refuses_confirm_url_whose_page_would_end_with_the_command() -> None:
    refused = run_without_terminal(
        "call", "purchase_number", "phone_number=+18135550100", *MANAGER, "--confirm", "url"
    )
    assert refused.returncode == 2 and "--confirm url is for `cs-mcp serve`" in refused.stderr
