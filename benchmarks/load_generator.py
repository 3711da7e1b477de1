"""The load of the concurrency section, in a process of its own so its CPU is not the server's and can be
told apart: CLIENTS MCP clients connect to URL, then each makes CALLS workload calls. Prints one JSON
line: latencies (ms), wall seconds, and this process's CPU seconds.

    python -m benchmarks.load_generator URL CLIENTS CALLS WORKLOAD_JSON
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from typing import Any

from mcp.client import Client


async def run_clients(
    url: str, clients: int, calls_each: int, workload: list[tuple[str, dict[str, Any]]]
) -> tuple[list[float], float]:
    """`clients` MCP clients connect, then each makes `calls_each` workload calls; (latencies ms, wall s)."""
    latencies: list[float] = []
    start = asyncio.Event()

    async def one(index: int, ready: asyncio.Event) -> None:
        async with Client(url) as client:
            ready.set()
            await start.wait()
            for n in range(calls_each):
                name, arguments = workload[(index + n) % len(workload)]
                started = time.perf_counter()
                result = await client.call_tool(name, arguments)
                latencies.append((time.perf_counter() - started) * 1000)
                assert not result.is_error, f"{name}: {result.content[0].text}"  # type: ignore[union-attr]

    readies = [asyncio.Event() for _ in range(clients)]
    tasks = [asyncio.create_task(one(i, readies[i])) for i in range(clients)]
    await asyncio.gather(*(ready.wait() for ready in readies))
    began = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    return latencies, time.perf_counter() - began


def main() -> None:
    url, clients, calls_each, workload = (
        sys.argv[1],
        int(sys.argv[2]),
        int(sys.argv[3]),
        json.loads(sys.argv[4]),
    )
    latencies, wall = asyncio.run(run_clients(url, clients, calls_each, [tuple(w) for w in workload]))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"latencies": latencies, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime}))


if __name__ == "__main__":
    main()
