"""`cs-mcp demo`: a scripted tour of the sandbox through a real MCP client, printing each call.

It is also the smoke test a new user runs first, so every step must pass against a fresh sandbox, and
it explains what it shows to someone who has never seen CallScaler.
"""

from __future__ import annotations

import json
import shutil
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
from cs_mcp.hints import connect_instructions
from cs_mcp.inprocess import connect
from cs_mcp.models import UNTRUSTED_CLOSE, UNTRUSTED_OPEN

INTRODUCTION = """\
cs-mcp demo: what an AI assistant sees when it runs a CallScaler account through cs-mcp.

CallScaler is a call-tracking service. A business buys tracking phone numbers, one per ad, listing or
flyer, so it knows which marketing made the phone ring; each number's call flow decides where its calls
go. CallScaler records the calls and texts, scores each call with AI, and reports where leads come from.

The business below is made up: "Acme Plumbing & Air", a plumbing and air-conditioning company in
Florida, living in cs-mcp's built-in sandbox. Nothing here reaches CallScaler: no one is called or
texted and nothing is bought. Each step shows the tool call an assistant would make (→) and the answer.

Words you will meet:
  call flow       a number's routing recipe: steps such as greeting, forward (ring a phone), ivr (a menu:
                  "press 1 for..."), schedule (business hours) and voicemail
  qualified       a call that counted as a real sales lead (CallScaler's AI judges it from the call)
  ai_score        CallScaler's 0-100 rating of a call as a lead; 80 and up is a strong one
  tcr_sw_state    whether a number is registered for business texting in the US (The Campaign
                  Registry); approved means it may send SMS
  ⟦untrusted: …⟧  text written by callers and strangers, fenced so the assistant treats it as data,
                  never as instructions
"""

Results = dict[str, Any]


@dataclass
class Step:
    title: str
    tool: str
    arguments: Callable[[Results], dict[str, Any]]
    explains: str = ""


def _week_ago() -> str:
    return (datetime.now(UTC) - timedelta(days=7)).date().isoformat()


def _untrusted_contact(results: Results) -> str:
    """A conversation whose last message was written by a stranger, to show the fencing."""
    conversations = results["list_conversations"]["items"]
    suspicious = [c for c in conversations if "instruction" in c.get("last_message_preview", "").casefold()]
    return (suspicious or conversations)[0]["contact"]


STEPS = [
    Step(
        "The account at a glance",
        "get_dashboard_stats",
        lambda r: {},
        "The last 30 days: calls, how many were answered or missed, how many were qualified leads.",
    ),
    Step(
        "Which numbers got no calls?",
        "list_numbers",
        lambda r: {"has_calls": False, "limit": 5},
        "A number nobody calls is an ad that does not work, or a line to release.",
    ),
    Step(
        "The call flows",
        "list_call_flows",
        lambda r: {"limit": 3, "sort": "-number_count"},
        "Lists come back as a page plus a summary of every match, sized to fit the conversation.",
    ),
    Step(
        "The busiest flow, as an outline",
        "get_call_flow",
        lambda r: {"call_flow_id": r["list_call_flows"]["items"][0]["id"]},
        "An outline of the steps a caller goes through, and every phone the flow can ring.",
    ),
    Step(
        "Numbers for sale in Tampa (813)",
        "search_available_numbers",
        lambda r: {"area_code": "813", "limit": 3},
        "Numbers CallScaler could sell the business, with their monthly cost.",
    ),
    Step(
        "Buying one stops for confirmation: nothing is bought yet",
        "purchase_number",
        lambda r: {
            "phone_number": r["search_available_numbers"]["numbers"][0]["phone_number"],
            "name": "Demo Tampa",
        },
        "Buying costs money, so the tool answers with a preview and a single-use confirmation token.",
    ),
    Step(
        "The user agreed: the same call with the confirmation token buys it",
        "purchase_number",
        lambda r: {
            "phone_number": r["search_available_numbers"]["numbers"][0]["phone_number"],
            "name": "Demo Tampa",
            "confirmation_token": r["purchase_number"]["confirmation_token"],
        },
        "Only the same call with that token acts (the sandbox's money is not real).",
    ),
    Step(
        "Unread text conversations",
        "list_conversations",
        lambda r: {"unread": True, "limit": 30},
        "Texts from customers; a stranger's message is fenced however it is phrased.",
    ),
    Step(
        "One thread: text from outside the business arrives fenced as untrusted",
        "get_text_thread",
        lambda r: {"contact": _untrusted_contact(r), "limit": 5},
        "This one tries to give the assistant orders; inside the fence it is only data.",
    ),
    Step(
        "Calls the AI scored as strong leads",
        "list_calls",
        lambda r: {"min_ai_score": 80, "limit": 3},
        "ai_score 80 and up; the summary covers every matching call, not just this page.",
    ),
    Step(
        "Last week's calls by source",
        "get_call_analytics",
        lambda r: {"group_by": ["source"], "since": _week_ago(), "metrics": ["count", "qualified_pct"]},
        "Which marketing made the phone ring, and what share of those calls were qualified leads.",
    ),
]


MAX_LINES = 18
MIN_FENCED = 12  # characters of fenced text worth showing before a cut


def cut(line: str, width: int) -> str:
    """The line, at most `width` characters, ending in … where cut; a fence cut open is closed again."""
    if len(line) <= width:
        return line
    kept = line[: width - 2]
    if kept.count(UNTRUSTED_OPEN[0]) > kept.count(UNTRUSTED_CLOSE):
        opened = kept.rindex(UNTRUSTED_OPEN[0])
        if len(kept) - opened - len(UNTRUSTED_OPEN) >= MIN_FENCED:
            return kept.rstrip() + "…" + UNTRUSTED_CLOSE
        kept = kept[:opened]  # too little of the fenced text would show: cut before the fence instead
    return kept.rstrip() + " …"


def _indent(text: str, width: int) -> str:
    lines = text.splitlines() or [""]
    shown = [cut("    " + line, width) for line in lines[:MAX_LINES]]
    if len(lines) > MAX_LINES:
        more = len(lines) - MAX_LINES
        shown.append(f"    … {more} more line{'s' if more > 1 else ''}")
    return "\n".join(shown)


async def _tour(client: Client, out: Any, width: int) -> int:
    results: Results = {}
    for number, step in enumerate(STEPS, 1):
        arguments = step.arguments(results)
        # As JSON, the way the assistant sends them (false, not Python's False).
        shown = ", ".join(
            f"{k}={json.dumps(v, ensure_ascii=False)}"
            for k, v in arguments.items()
            if k != "confirmation_token"
        )
        if "confirmation_token" in arguments:
            shown += ", confirmation_token=…"
        print(f"\n[{number}/{len(STEPS)}] {step.title}", file=out)
        if step.explains:
            print(f"  {step.explains}", file=out)
        print(f"  → {step.tool}({shown})", file=out, flush=True)
        started = time.monotonic()
        result = await client.call_tool(step.tool, arguments)
        text = "\n".join(block.text for block in result.content if isinstance(block, TextContent))
        print(_indent(text, width), file=out)
        print(f"  ({(time.monotonic() - started) * 1000:.0f} ms)", file=out, flush=True)
        if result.is_error:
            print(f"demo step {number} failed", file=sys.stderr)
            return 1
        results[step.tool] = result.structured_content
    print(f"\nDone: that is what an assistant sees.\n\n{connect_instructions()}", file=out)
    return 0


def run_demo(out: Any = None, width: int | None = None) -> int:
    """The tour on `out` (stdout), lines cut to `width` (the terminal's, at least 80)."""
    out = out or sys.stdout
    width = width or max(80, shutil.get_terminal_size((160, 24)).columns)
    print(INTRODUCTION, file=out)
    print("Loading the sandbox…", file=out, flush=True)
    settings = Settings.for_sandbox("manager", confirm_mode=ConfirmMode.TOKEN)

    async def main() -> int:
        async with connect(settings) as client:
            return await _tour(client, out, width)

    return anyio.run(main)
