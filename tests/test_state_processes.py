"""The SQLite store across `cs-mcp call` processes of one user: a confirmation begun by one process is
finished by the next, caps outlive a process, and two processes racing one token act once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio

from cs_mcp.config import Settings
from cs_mcp.inprocess import call_tool

MANAGER = ("--sandbox", "--role", "manager")


def cs_mcp(state: Path, *argv: str) -> subprocess.Popen[str]:
    """`cs-mcp call ...` without a terminal, on the state file `state`."""
    return subprocess.Popen(
        [sys.executable, "-m", "cs_mcp", "call", *argv, *MANAGER, "--state", str(state)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "HOME": str(state.parent)},
    )


def finished(process: subprocess.Popen[str]) -> tuple[int, str]:
    stdout, _ = process.communicate(timeout=60)
    return process.returncode, stdout


def token_in(stdout: str) -> str:
    return next(
        line.split(": ", 1)[1] for line in stdout.splitlines() if line.startswith("confirmation_token")
    )


def numbers_for_sale(count: int) -> list[str]:
    async def search() -> list[str]:
        found = await call_tool(
            Settings.for_sandbox("manager"), "search_available_numbers", {"area_code": "813", "limit": count}
        )
        assert found.structured_content is not None
        return [offer["phone_number"] for offer in found.structured_content["numbers"]]

    return anyio.run(search)


def test_a_cap_reached_by_earlier_processes_holds_in_a_later_one(tmp_path: Path) -> None:
    state, cap = tmp_path / "state.sqlite3", ("--max-purchases-per-day", "1")
    first, second = numbers_for_sale(2)
    status, stdout = finished(cs_mcp(state, "purchase_number", f"phone_number={first}", *cap))
    assert status == 3
    status, stdout = finished(
        cs_mcp(
            state, "purchase_number", f"phone_number={first}", *cap, f"confirmation_token={token_in(stdout)}"
        )
    )
    assert status == 0 and "status: done" in stdout
    status, stdout = finished(cs_mcp(state, "purchase_number", f"phone_number={second}", *cap))
    assert status == 1 and "cap of 1 purchases per day" in stdout


def test_two_processes_racing_one_token_act_once(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite3"
    (number,) = numbers_for_sale(1)
    status, stdout = finished(cs_mcp(state, "purchase_number", f"phone_number={number}"))
    assert status == 3
    confirm = ("purchase_number", f"phone_number={number}", f"confirmation_token={token_in(stdout)}")
    racing = [cs_mcp(state, *confirm) for _ in range(2)]  # both started before either finishes
    outcomes = sorted(finished(process) for process in racing)
    assert [status for status, _ in outcomes] == [0, 1]
    assert "status: done" in outcomes[0][1] and "confirmation_token is not valid" in outcomes[1][1]
