"""`cs-mcp demo`: a scripted tour of the sandbox through a real MCP client, printing each call.

It is also the smoke test a new user runs first, so every step must pass against a fresh sandbox.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from mcp.client import Client
from mcp_types import TextContent

from cs_mcp.config import ConfirmMode, Settings
from cs_mcp.inprocess import connect

Results = dict[str, Any]


@dataclass
class Step:
    title: str
    tool: str
    arguments: Callable[[Results], dict[str, Any]]


def _week_ago() -> str:
    return (datetime.now(UTC) - timedelta(days=7)).date().isoformat()


def _untrusted_contact(results: Results) -> str:
    """A conversation whose last message was written by a stranger, to show the fencing."""
    conversations = results["list_conversations"]["items"]
    suspicious = [c for c in conversations if "instruction" in c.get("last_message_preview", "").casefold()]
    return (suspicious or conversations)[0]["contact"]


STEPS = [
    Step("The account at a glance", "get_dashboard_stats", lambda r: {}),
    Step("Which numbers got no calls?", "list_numbers", lambda r: {"has_calls": False, "limit": 5}),
    Step("The call flows", "list_call_flows", lambda r: {"limit": 3, "sort": "-number_count"}),
    Step(
        "The busiest flow, as an outline",
        "get_call_flow",
        lambda r: {"call_flow_id": r["list_call_flows"]["items"][0]["id"]},
    ),
    Step(
        "Numbers for sale in Tampa (813)",
        "search_available_numbers",
        lambda r: {"area_code": "813", "limit": 3},
    ),
    Step(
        "Buying one stops for confirmation: nothing is bought yet",
        "purchase_number",
        lambda r: {
            "phone_number": r["search_available_numbers"]["numbers"][0]["phone_number"],
            "name": "Demo Tampa",
        },
    ),
    Step(
        "The user agreed: the same call with the confirmation token buys it",
        "purchase_number",
        lambda r: {
            "phone_number": r["search_available_numbers"]["numbers"][0]["phone_number"],
            "name": "Demo Tampa",
            "confirmation_token": r["purchase_number"]["confirmation_token"],
        },
    ),
    Step("Unread text conversations", "list_conversations", lambda r: {"unread": True, "limit": 30}),
    Step(
        "One thread: text from outside the business arrives fenced as untrusted",
        "get_text_thread",
        lambda r: {"contact": _untrusted_contact(r), "limit": 5},
    ),
    Step(
        "Last week's calls by source",
        "get_call_analytics",
        lambda r: {"group_by": ["source"], "since": _week_ago(), "metrics": ["count", "avg_duration"]},
    ),
]


def _indent(text: str, width: int = 220) -> str:
    lines = text.splitlines() or [""]
    shown = [("    " + line)[:width] for line in lines[:18]]
    if len(lines) > 18:
        shown.append(f"    … {len(lines) - 18} more lines")
    return "\n".join(shown)


async def _tour(client: Client, out: Any) -> int:
    results: Results = {}
    for number, step in enumerate(STEPS, 1):
        arguments = step.arguments(results)
        shown = ", ".join(f"{k}={v!r}" for k, v in arguments.items() if k != "confirmation_token")
        if "confirmation_token" in arguments:
            shown += ", confirmation_token=…"
        print(f"\n[{number}/{len(STEPS)}] {step.title}\n  → {step.tool}({shown})", file=out, flush=True)
        started = time.monotonic()
        result = await client.call_tool(step.tool, arguments)
        text = "\n".join(block.text for block in result.content if isinstance(block, TextContent))
        print(_indent(text), file=out)
        print(f"  ({(time.monotonic() - started) * 1000:.0f} ms)", file=out, flush=True)
        if result.is_error:
            print(f"demo step {number} failed", file=sys.stderr)
            return 1
        results[step.tool] = result.structured_content
    print("\nDone. Next: `cs-mcp serve --sandbox --role manager` in your assistant (see README).", file=out)
    return 0


def run_demo(out: Any = None) -> int:
    out = out or sys.stdout
    print("cs-mcp demo: a tour of the sandbox business as a manager, through a real MCP client.", file=out)
    print("Loading the sandbox…", file=out, flush=True)
    settings = Settings.for_sandbox("manager", confirm_mode=ConfirmMode.TOKEN)

    async def main() -> int:
        async with connect(settings) as client:
            return await _tour(client, out)

    return anyio.run(main)
