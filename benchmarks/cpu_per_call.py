"""Server CPU per call, per tool kind, against the floor making the same API requests
(benchmarks/kind_floor_server.py), over stdio and over Streamable HTTP.

CPU is the server process's on-CPU time summed over its threads (/proc/PID/task/*/schedstat, in ns:
the 10 ms ticks of /proc/PID/stat are too coarse for one call). Blocks of calls alternate between cs_mcp
and the floor, kind by kind, so load from other processes on the shared cores falls on both alike; the
figure is the median over blocks of CPU per call.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp_types import CallToolResult

from benchmarks.harness import (
    ROOT,
    SANDBOX_KEYS,
    Plan,
    Row,
    background,
    cs_mcp_command,
    free_port,
    live_env,
    median,
    sandbox_http,
)
from cs_mcp.budget import fits_uncounted
from cs_mcp.config import default_of
from cs_mcp.token_count import _chunk_counts, count_tokens

KIND_FLOOR = [sys.executable, str(ROOT / "benchmarks" / "kind_floor_server.py")]
TARGET = 1.15
CONFIRMED_WRITE = "a confirmed write (send_sms)"
COUNTING_REPEATS = 50
DEFAULT_BUDGET = default_of("max_output_tokens")
BLOCK = 4  # calls per block: a block's CPU is tens of ms, well above the scheduler's accounting noise


def cpu_ns(pid: int) -> int:
    """On-CPU ns of every thread of `pid` (threads that have ended are not counted: the SDK's stdio
    reader threads live as long as the process)."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(OSError):
            total += int(stat.read_text().split()[0])
    return total


def manager_env() -> dict[str, str]:
    """A manager key (send_sms needs one), and an SMS cap the benchmark's texts never reach."""
    return {**live_env(), "CALLSCALER_API_KEY": SANDBOX_KEYS["manager"], "CS_MCP_MAX_SMS_PER_HOUR": "100000"}


def serve_as_manager(base_url: str, *options: str) -> list[str]:
    return [*cs_mcp_command(), "serve", "--role", "manager", *options, "--base-url", base_url]


def kinds(sandbox_state: dict[str, Any]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Each kind as the calls one use of it makes (a confirmed write is a preview, then the token)."""
    return {
        "a list (list_numbers)": [("list_numbers", {})],
        "a flow outline (get_call_flow)": [("get_call_flow", {"call_flow_id": sandbox_state["flow"]})],
        "list_calls": [("list_calls", {})],
        CONFIRMED_WRITE: [("send_sms", sandbox_state["sms"])],
    }


# Each text goes to a recipient of its own: the sandbox keeps every text sent, and one thread growing through
# the run (both servers read it before sending) would time how long it had grown by then, not the call.
_recipients = itertools.count()


def _to_new_recipient(arguments: dict[str, Any]) -> dict[str, Any]:
    if "to_number" not in arguments:
        return arguments
    return {**arguments, "to_number": f"+1407555{next(_recipients) % 10_000:04d}"}


async def use(client: Client, calls: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, CallToolResult]]:
    """The results of one use of a kind, by tool (a confirmed write: the preview, then the outcome)."""
    results = []
    for name, given in calls:
        arguments = _to_new_recipient(given)
        result = await client.call_tool(name, arguments)
        assert not result.is_error, f"{name}: {result.content[0].text}"  # type: ignore[union-attr]
        results.append((name, result))
        token = (result.structured_content or {}).get("confirmation_token")
        if token:
            done = await client.call_tool(name, {**arguments, "confirmation_token": token})
            assert (done.structured_content or {}).get("status") == "done", done.content
            results.append((name, done))
    return results


def rendering_ms(results: list[tuple[str, CallToolResult]]) -> float:
    """CPU ms cs_mcp spends writing these results' text copies (a line per fact, untrusted text fenced),
    which the floor leaves to the SDK's JSON dump: each rebuilt from its structuredContent as the tool's
    output model and rendered as cs_mcp.budget.measure does, checked to be the text that was sent."""
    from cs_mcp import catalogue
    from cs_mcp.guardrails import Guardrails
    from cs_mcp.rendering import render

    specs = catalogue.by_name()
    rebuilt = []
    for name, result in results:
        spec = specs[name]
        output = Guardrails.output_model(spec.output_model) if spec.guarded else spec.output_model
        structured = result.structured_content or {}
        model = output.model_validate(structured)
        assert render(model, structured) == result.content[0].text, name  # type: ignore[union-attr]
        rebuilt.append((model, structured))
    started = time.process_time()
    for _ in range(COUNTING_REPEATS):
        for model, structured in rebuilt:
            render(model, structured)
    return (time.process_time() - started) * 1000 / COUNTING_REPEATS


def counted_copies(results: list[CallToolResult]) -> list[str]:
    """The copies of these results cs_mcp counts: both copies of each result whose UTF-8 lengths do not
    already show it fits the default budget (cs_mcp.budget.fits_uncounted)."""
    copies = [
        (
            json.dumps(result.structured_content, separators=(",", ":"), ensure_ascii=False),
            "".join(getattr(part, "text", "") for part in result.content),
        )
        for result in results
    ]
    return [text for pair in copies if not fits_uncounted(*pair, DEFAULT_BUDGET) for text in pair]


def counting_ms(results: list[CallToolResult]) -> tuple[float, float]:
    """CPU ms of the exact o200k counts cs_mcp takes of these results: (warm, cold). Warm: as the
    benchmark's server has them, every chunk seen before (the same call repeated); cold: a result never
    seen (chunk counts forgotten, the piece counts a running server has kept)."""
    texts = counted_copies(results)
    for text in texts:
        count_tokens(text)
    timings = []
    for forget in (False, True):
        started = time.process_time()
        for _ in range(COUNTING_REPEATS):
            if forget:
                _chunk_counts.clear()
            for text in texts:
                count_tokens(text)
        timings.append((time.process_time() - started) * 1000 / COUNTING_REPEATS)
    return timings[0], timings[1]


@contextlib.asynccontextmanager
async def stdio_client(argv: list[str]) -> AsyncIterator[tuple[Client, int]]:
    params = StdioServerParameters(command=argv[0], args=argv[1:], env=manager_env(), cwd=str(ROOT))
    async with Client(params) as client:
        yield client, child_pid(argv)


def child_pid(argv: list[str]) -> int:
    """The newest process of ours running `argv` (the SDK's stdio client does not expose its pid)."""
    own = str(Path("/proc/self").resolve().name)
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[1] != own:
                continue
            # a suffix: a script started through its shebang has the interpreter before it
            if (proc / "cmdline").read_bytes().split(b"\0")[:-1][-len(argv) :] == [a.encode() for a in argv]:
                found.append(int(proc.name))
    return max(found)


@contextlib.contextmanager
def http_server(argv: list[str]) -> Iterator[tuple[str, int]]:
    port = free_port()
    with background(
        [*argv, "--port", str(port)], f"http://127.0.0.1:{port}/healthz", env=manager_env()
    ) as proc:
        yield f"http://127.0.0.1:{port}/mcp", proc.pid


async def cpu_per_call(plan: Plan) -> list[Row]:
    blocks = plan.pick(12, 4)
    rows: list[Row] = []
    store_ms = await state_store_ms()
    with sandbox_http() as base_url:
        state = await sandbox_state(base_url)
        ours_stdio = serve_as_manager(base_url)
        ours_http = serve_as_manager(base_url, "--transport", "http")
        floor = [*KIND_FLOOR, base_url]
        for transport in ("stdio", "HTTP"):
            async with contextlib.AsyncExitStack() as stack:
                if transport == "stdio":
                    ours = await stack.enter_async_context(stdio_client(ours_stdio))
                    theirs = await stack.enter_async_context(stdio_client(floor))
                else:
                    urls = [stack.enter_context(http_server(argv)) for argv in (ours_http, floor)]
                    ours, theirs = [(await stack.enter_async_context(Client(url)), pid) for url, pid in urls]
                compared, floor_ms = await _compare(transport, kinds(state), ours, theirs, blocks, store_ms)
                rows += compared
    from benchmarks.http_layers import http_layers  # the server and HTTP stack: imported only when run

    # floor_ms is the HTTP one, compared last
    rows.append(await http_layers(blocks, floor_ms["a list (list_numbers)"]))
    return rows


async def _compare(
    transport: str,
    kinds_: dict[str, list[tuple[str, dict[str, Any]]]],
    ours: tuple[Client, int],
    floor: tuple[Client, int],
    blocks: int,
    store_ms: float,
) -> tuple[list[Row], dict[str, float]]:
    """The rows comparing each kind, and the floor's CPU ms per call of each."""
    per_call: dict[tuple[str, str], list[float]] = {}
    last: dict[str, list[tuple[str, CallToolResult]]] = {}
    for calls in kinds_.values():  # warm-up: connections, first-use imports, caches
        for client, _ in (ours, floor):
            await use(client, calls)
    for _ in range(blocks):
        for kind, calls in kinds_.items():
            for side, (client, pid) in (("ours", ours), ("floor", floor)):
                before = cpu_ns(pid)
                for _ in range(BLOCK):
                    results = await use(client, calls)
                per_call.setdefault((kind, side), []).append((cpu_ns(pid) - before) / BLOCK / 1e6)
                if side == "ours":
                    last[kind] = results
    rows = []
    for kind in kinds_:
        mine, base = median(per_call[(kind, "ours")]), median(per_call[(kind, "floor")])
        results = last[kind]
        rendered, (warm, cold) = rendering_ms(results), counting_ms([result for _, result in results])
        stored = store_ms if kind == CONFIRMED_WRITE else 0.0
        store_part = (
            f"; the state store's steps (SQLite file; the floor keeps a dict) {stored:.2f} ms"
            if stored
            else ""
        )
        rows.append(
            Row(
                "CPU per call",
                f"{transport}: {kind} ({blocks} blocks of {BLOCK}, interleaved). Of it, measured apart, what "
                f"SPEC asks of cs_mcp and the floor skips: the text copy (a line per fact, untrusted text "
                f"fenced) {rendered:.2f} ms; the exact o200k count {warm:.2f} ms (the result seen before, as "
                f"here; {cold:.2f} ms for one never seen; none for one no longer in bytes than the budget)"
                f"{store_part}: {(mine - rendered - warm - stored) / base:.2f}x without them",
                f"{mine:.2f} ms",
                f"{base:.2f} ms (floor, same API requests)",
                f"{mine / base:.2f}x",
                f"<= {TARGET}x",
                mine / base <= TARGET,
            )
        )
    return rows, {kind: median(per_call[(kind, "floor")]) for kind in kinds_}


async def state_store_ms(repeats: int = 200) -> float:
    """CPU ms of the state-store steps one confirmed send_sms takes (the preview's token kept under the SMS
    cap, the token taken, the cap's slot reserved) on a SQLite file as `serve` keeps by default, in this
    process: SPEC's State guarantee (tokens and caps outlive the process), which the floor's dict skips."""
    from cs_mcp import catalogue
    from cs_mcp.config import Caps, Settings
    from cs_mcp.guardrails import Guardrails, Preview

    cap = catalogue.by_name()["send_sms"].cap
    preview = Preview(action="Text +14075550199 from the benchmark's number")
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings.for_sandbox(
            "manager", state=f"{folder}/state.sqlite3", caps=Caps(sms_per_hour=10**6)
        )
        guardrails = Guardrails(settings)

        async def confirmed_write() -> None:
            token = await guardrails.pending.issue("send_sms", "{}", "bench", preview, cap=cap)
            await guardrails.pending.redeem(token, "send_sms", "{}", "bench")
            await guardrails.caps.reserve(cap)

        await confirmed_write()
        started = time.process_time()
        for _ in range(repeats):
            await confirmed_write()
        return (time.process_time() - started) * 1000 / repeats


async def sandbox_state(base_url: str) -> dict[str, Any]:
    import httpx

    headers = {"Authorization": f"Bearer {SANDBOX_KEYS['manager']}"}
    async with httpx.AsyncClient(base_url=base_url + "/", headers=headers) as http:
        flows = (await http.get("call-flows")).json()["data"]
        numbers = (await http.get("numbers")).json()["data"]["numbers"]
    flow_list = flows.get("call_flows", flows) if isinstance(flows, dict) else flows
    sender = next(n["phone_number"] for n in numbers if n.get("sms_enabled"))
    return {
        "flow": flow_list[0]["id"],
        "sms": {"from_number": sender, "to_number": "+14075550199", "body": "bench"},
    }
