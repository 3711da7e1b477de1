"""What clients beyond tools use: prompts, resources, progress and log notifications."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.conftest import call

pytestmark = pytest.mark.anyio
PROMPTS = {"weekly_call_report", "audit_unused_numbers", "move_number_to_flow", "review_call_flow"}


async def test_prompts_name_the_tools_they_need(connect: Any) -> None:
    async with connect("viewer") as client:
        assert {p.name for p in (await client.list_prompts()).prompts} == PROMPTS
        tools = {t.name for t in (await client.list_tools()).tools}
        moved = await client.get_prompt(
            "move_number_to_flow", {"number": "Google Ads Tampa", "call_flow": "Main"}
        )
        text = moved.messages[0].content.text
        assert "⟦untrusted: Google Ads Tampa⟧" in text and "update_number" in text and "get_number" in text
        for name in PROMPTS - {"move_number_to_flow", "review_call_flow"}:
            prompt = await client.get_prompt(name, {})
            mentioned = {word.strip(".,;:()") for word in prompt.messages[0].content.text.split()}
            assert mentioned & tools, name


async def test_resources_read_the_same_answers_as_the_tools(connect: Any, sandbox: Any) -> None:
    flow = sandbox.state["call_flows"][0]
    async with connect("viewer") as client:
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        assert {"callscaler://numbers/{status}", "callscaler://call-flows/{call_flow_id}"} <= templates
        paused = (await client.read_resource("callscaler://numbers/paused")).contents[0].text
        expected = sum(1 for n in sandbox.state["numbers"] if n["status"] == "paused")
        assert paused.startswith(f"total: {expected}")
        outline = (await client.read_resource(f"callscaler://call-flows/{flow['id']}")).contents[0].text
        assert flow["name"] in outline and "steps[0]" in outline
        with pytest.raises(Exception, match="unknown status"):
            await client.read_resource("callscaler://numbers/everything")


async def test_resources_respect_the_toolsets(connect: Any) -> None:
    async with connect("viewer", toolsets=frozenset({"calls"})) as client:
        with pytest.raises(Exception, match="toolset numbers is not enabled"):
            await client.read_resource("callscaler://numbers/all")


async def test_list_tools_report_progress_when_asked(connect: Any) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with connect("viewer") as client:
        result = await client.call_tool("list_numbers", {"limit": 1}, progress_callback=on_progress)
        assert not result.is_error
    assert [p for p, _, _ in seen] == [0, 1] and "numbers" in (seen[0][2] or "")


async def test_api_failures_reach_the_client_log_in_the_legacy_era(connect: Any, sandbox: Any) -> None:
    messages: list[Any] = []

    async def on_log(params: Any) -> None:
        messages.append(params)

    sandbox.faults.add("status", status=500, path="/numbers/bulk-stats")
    async with connect("viewer", client_options={"logging_callback": on_log, "mode": "legacy"}) as client:
        result = await client.call_tool("get_numbers_bulk_stats", {})
        assert result.is_error and "500" in result.content[0].text
        await call(client, "get_capabilities")
    assert len(messages) == 1 and messages[0].level == "warning" and "500" in messages[0].data


async def test_a_voicemail_too_large_to_attach_is_readable_as_a_resource(connect: Any, sandbox: Any) -> None:
    voicemail = max(sandbox.state["voicemails"], key=lambda v: v["duration_seconds"])
    async with connect("viewer", max_output_tokens=1000) as client:
        result = await client.call_tool("get_voicemail_recording", {"voicemail_id": voicemail["id"]})
        assert result.structured_content["delivery"] == "link"
        uri = result.structured_content["uri"]
        contents = (await client.read_resource(uri)).contents[0]
        assert contents.mime_type == "audio/mpeg"
        assert len(base64.b64decode(contents.blob)) == result.structured_content["bytes"]
        with pytest.raises(Exception, match="not a voicemail id"):
            await client.read_resource("callscaler://voicemails/nope/recording")
    async with connect("viewer", toolsets=frozenset({"calls"})) as client:
        with pytest.raises(Exception, match="toolset voicemails is not enabled"):
            await client.read_resource(uri)
