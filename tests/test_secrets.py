"""The API key never shows: not in results, errors, logs, reprs, even when the API echoes it."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from mcp.client import Client

from cs_mcp.config import Role, Settings
from cs_mcp.secrets import RedactingFilter, Secret, redact
from cs_mcp.server import build_server

KEY = "cs_key_live_7f3a9c1d2e4b5a6978"
pytestmark = pytest.mark.anyio


def echoing_api(request: httpx.Request) -> httpx.Response:
    """An API that puts the caller's own key into its data and its errors."""
    key = request.headers["authorization"].removeprefix("Bearer ")
    if request.url.path.endswith("/numbers"):
        number = {
            "id": "00000000-0000-4000-8000-000000000001",
            "phone_number": "+18135550100",
            "name": f"Line {key}",
        }
        return httpx.Response(200, json={"data": {"numbers": [number], "total": 1}})
    return httpx.Response(401, json={"error": {"code": "401", "message": f"Invalid API key {key}"}})


async def test_an_echoed_key_is_masked_in_results_and_errors(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(api_key=Secret(KEY), base_url="http://api.test/api/v1", role=Role.MANAGER)
    server = build_server(settings, transport=httpx.MockTransport(echoing_api))
    with caplog.at_level(logging.DEBUG):
        async with Client(server) as client:
            listed = await client.call_tool("list_numbers", {})
            failed = await client.call_tool("get_numbers_bulk_stats", {})
            capabilities = await client.call_tool("get_capabilities", {})
    assert not listed.is_error and failed.is_error and "401" in failed.content[0].text
    for result in (listed, failed, capabilities):
        assert KEY not in result.model_dump_json()
    assert "name=Line ********" in listed.content[0].text
    assert KEY not in caplog.text
    assert KEY not in repr(settings) and KEY not in str(settings.api_key)


def test_the_log_filter_masks_keys_in_messages_and_arguments() -> None:
    Secret(KEY)
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "failed with %s", (f"Bearer {KEY}",), None)
    assert RedactingFilter().filter(record)
    assert KEY not in record.getMessage()
    assert redact(json.dumps({"k": "cs_key_other_secret_99"})) == '{"k": "cs_key_********"}'
