"""Event-loop stalls at scale 100: while one of the biggest list tools runs, a ping (`get_capabilities`,
a tool that makes no API request, answered on the same event loop) is sent again and again; the longest
ping beyond the idle ping is how long the loop was held. The server is `cs-mcp serve` over stdio in front of a scale-100 sandbox
REST API in its own process (20 ms latency), so the API's own work never runs on the measured loop.

A ping's wall time grows with load from other processes on the shared cores (the server waits for a
core as well as for its loop). So the server runs under `benchmarks/loop_watch.py`, which also reports
the longest single step of its event loop in on-CPU ms: the stall cs_mcp itself causes, whatever the load.

    python -m benchmarks.loop_lag [--repeats 3]    # the section alone, printed as a table
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from benchmarks.cpu_per_call import child_pid
from benchmarks.harness import Plan, Row, live_env, median, sandbox_http

BIG_LISTS: list[tuple[str, dict[str, Any]]] = [
    ("list_voicemails", {}),
    ("list_webhook_deliveries", {}),
    ("list_numbers", {}),
    ("list_calls", {}),
]
TARGET_MS = 20.0
PING_TOOL = "get_capabilities"


async def ping_ms(client: Client) -> float:
    started = time.perf_counter()
    result = await client.call_tool(PING_TOOL, {})
    assert not result.is_error, result.content
    return (time.perf_counter() - started) * 1000


def core_wait_ms(pid: int) -> float:
    """How long the process's main thread (its event loop) has waited for a core, from the kernel's
    run-queue accounting: other processes' load on the shared cores, not the server's own work."""
    return int(Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()[1]) / 1e6


async def longest_ping_during(
    client: Client, tool: str, arguments: dict[str, Any], pid: int
) -> tuple[float, float, float]:
    """(longest ping ms while the tool ran, ms of it the server waited for a core, the tool's wall ms)."""
    started = time.perf_counter()
    call = asyncio.create_task(client.call_tool(tool, arguments))
    pings = [(0.0, 0.0)]
    while not call.done():
        waited = core_wait_ms(pid)
        took = await ping_ms(client)
        pings.append((took, core_wait_ms(pid) - waited))
    result = await call
    assert not result.is_error, f"{tool}: {result.content[0].text}"  # type: ignore[union-attr]
    longest, waited = max(pings)
    return longest, waited, (time.perf_counter() - started) * 1000


class LoopWatch:
    """The watched server's longest loop step since the last reading (see benchmarks/loop_watch.py)."""

    def __init__(self, report: Path) -> None:
        self.report = report
        self.pid = 0

    async def reading(self) -> tuple[float, str]:
        """(ms, where), and the watch starts again."""
        self.report.unlink(missing_ok=True)
        os.kill(self.pid, signal.SIGUSR1)
        for _ in range(500):  # written at the server's next bytecode: at once unless it is descheduled
            if self.report.exists() and (text := self.report.read_text()):
                took, _, where = text.partition(" ")
                return float(took), where
            await asyncio.sleep(0.01)
        raise RuntimeError("the watched server did not report its loop")


async def loop_lag(plan: Plan) -> list[Row]:
    repeats = plan.pick(5, 2)
    with sandbox_http(scale=100) as base_url, tempfile.TemporaryDirectory() as scratch:
        watch = LoopWatch(Path(scratch) / "longest-step")
        argv = [
            sys.executable,
            "-m",
            "benchmarks.loop_watch",
            str(watch.report),
            "serve",
            "--base-url",
            base_url,
        ]
        server = StdioServerParameters(command=argv[0], args=argv[1:], env=live_env())
        async with Client(server) as client:
            watch.pid = child_pid(argv)
            for tool, arguments in BIG_LISTS:  # warm-up: connections, first-use imports, caches
                await longest_ping_during(client, tool, arguments, watch.pid)
            idle = median([await ping_ms(client) for _ in range(50)])
            worst: dict[str, list[float]] = {tool: [] for tool, _ in BIG_LISTS}
            core_waits: dict[str, list[float]] = {tool: [] for tool, _ in BIG_LISTS}
            wall: dict[str, list[float]] = {tool: [] for tool, _ in BIG_LISTS}
            steps: dict[str, list[tuple[float, str]]] = {tool: [] for tool, _ in BIG_LISTS}
            for _ in range(repeats):  # interleaved, so the machine's load falls on every tool alike
                for tool, arguments in BIG_LISTS:
                    await watch.reading()
                    longest, waited, took = await longest_ping_during(client, tool, arguments, watch.pid)
                    steps[tool].append(await watch.reading())
                    worst[tool].append(longest - idle)
                    core_waits[tool].append(waited)
                    wall[tool].append(took)
    rows = []
    for tool, _ in BIG_LISTS:
        step, where = max(steps[tool])
        rows.append(
            Row(
                "loop lag (scale 100)",
                f"{tool}: longest event-loop step, on-CPU (load-independent: the stall cs_mcp causes; "
                f"worst of {repeats}, in {where or 'the SDK'})",
                f"{step:.1f} ms",
                "",
                "",
                f"<= {TARGET_MS:.0f} ms",
                step <= TARGET_MS,
            )
        )
        stall = median(worst[tool])
        rows.append(
            Row(
                "loop lag (scale 100)",
                f"{tool}: longest ping beyond idle while it runs (median of {repeats} worst; call took "
                f"{median(wall[tool]):.0f} ms)",
                f"{stall:.1f} ms (worst {max(worst[tool]):.1f}; of the worst pings, the server waited "
                f"{median(core_waits[tool]):.1f} ms for a core)",
                f"{idle:.1f} ms idle ping",
                f"{(stall + idle) / idle:.1f}x idle",
                f"<= {TARGET_MS:.0f} ms",
                stall <= TARGET_MS,
            )
        )
    return rows


def main() -> None:
    from benchmarks.harness import table

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(table(asyncio.run(loop_lag(Plan(quick=args.quick)))))


if __name__ == "__main__":
    main()
