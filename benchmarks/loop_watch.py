"""`cs-mcp` with a watch on its event loop: the longest step (one callback or task step, which nothing
else on the loop can interrupt) in on-CPU milliseconds of the loop's thread. Unlike a ping's wall time,
this does not grow with load from other processes on the shared cores: it is the stall the server
itself causes, and the floor under what a ping sees.

    python -m benchmarks.loop_watch REPORT_FILE serve ...    # then SIGUSR1: write the longest, reset

Each SIGUSR1 writes the longest step since the last one (ms, and where the task stood, with how much of it
the garbage collector took) to REPORT_FILE.
"""

from __future__ import annotations

import asyncio.events
import gc
import signal
import sys
import time
from pathlib import Path
from types import FrameType

_run_step = asyncio.events.Handle._run
longest: tuple[float, str] = (0.0, "")
collecting = [0.0, 0.0]  # when the running collection started, and collection ms in the current step


def _collector(phase: str, _info: dict[str, int]) -> None:
    if phase == "start":
        collecting[0] = time.thread_time()
    else:
        collecting[1] += (time.thread_time() - collecting[0]) * 1000


def _where(handle: asyncio.events.Handle) -> str:
    """The innermost cs_mcp frame of the task a step resumed, if any."""
    task = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
    coro = task.get_coro() if isinstance(task, asyncio.Task) else None
    found = ""
    while coro is not None:
        frame = getattr(coro, "cr_frame", None)
        if frame is None:
            break
        if "cs_mcp" in frame.f_code.co_filename:
            found = f"{Path(frame.f_code.co_filename).name}:{frame.f_code.co_name}"
        coro = getattr(coro, "cr_await", None)
    return found


def _timed_step(handle: asyncio.events.Handle) -> None:
    global longest
    where = _where(handle)  # before the step: where the task resumes
    collecting[1] = 0.0
    started = time.thread_time()
    _run_step(handle)
    took = (time.thread_time() - started) * 1000
    if took > longest[0]:
        collected = f", {collecting[1]:.1f} ms of it garbage collection" if collecting[1] >= 0.5 else ""
        longest = (took, where + collected)


def _report(path: Path) -> None:
    def write(_signal: int, _frame: FrameType | None) -> None:
        global longest
        path.write_text(f"{longest[0]:.2f} {longest[1]}")
        longest = (0.0, "")

    signal.signal(signal.SIGUSR1, write)


def main() -> None:
    report, *argv = sys.argv[1:]
    asyncio.events.Handle._run = _timed_step  # type: ignore[method-assign,assignment]
    gc.callbacks.append(_collector)
    _report(Path(report))
    from cs_mcp.cli import main as cs_mcp_main

    raise SystemExit(cs_mcp_main(argv))


if __name__ == "__main__":
    main()
