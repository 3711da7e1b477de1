"""A weekly call report, the way an operations script would ask cs_mcp for it.

Run: python examples/weekly_report.py            (against the embedded sandbox)
     CALLSCALER_API_KEY=... python examples/weekly_report.py --live

It spawns `cs-mcp serve` over stdio, exactly as an assistant would, and prints a Markdown report:
calls by source, missed calls, and numbers that got no calls. Counts come from the tools' summaries,
so the report is exact without paging through every call.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        raise SystemExit(f"{tool} failed: {result.content[0].text}")
    return result.structured_content or {}


async def report(server: StdioServerParameters) -> str:
    end = datetime.now(UTC).date()
    start = end - timedelta(days=7)
    async with Client(server) as client:
        by_source = await call(
            client,
            "get_call_analytics",
            group_by=["source"],
            metrics=["calls", "qualified_rate"],
            since=start.isoformat(),
            before=end.isoformat(),
        )
        by_status = await call(
            client,
            "get_call_analytics",
            group_by=["status"],
            since=start.isoformat(),
            before=end.isoformat(),
        )
        silent = await call(client, "list_numbers", has_calls=False, limit=10)
    lines = [f"# Calls {start} to {end}", "", "| source | calls | qualified % |", "|---|---|---|"]
    lines += [
        f"| {row['source']} | {row['calls']} | {row.get('qualified_rate', '')} |" for row in by_source["rows"]
    ]
    statuses = {row["status"]: row["calls"] for row in by_status["rows"]}
    missed = sum(statuses.get(status, 0) for status in ("no-answer", "busy", "failed"))
    lines += [
        "",
        f"**{by_source['totals']['calls']} calls**, {missed} missed, {statuses.get('voicemail', 0)} to voicemail.",
    ]
    lines += ["", f"## Numbers with no calls ever: {silent['total']}"]
    lines += [f"- {n['phone_number']} {n.get('name', '')} ({n.get('status')})" for n in silent["items"]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", action="store_true", help="use CALLSCALER_API_KEY instead of the sandbox")
    args = parser.parse_args()
    serve = ["-m", "cs_mcp", "serve"] + ([] if args.live else ["--sandbox"])
    server = StdioServerParameters(command=sys.executable, args=serve, env=dict(os.environ))
    print(anyio.run(report, server))


if __name__ == "__main__":
    main()
