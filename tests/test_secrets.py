"""The API key never shows: not in results, errors, logs, reprs, even when the API echoes it."""

from __future__ import annotations

import base64
import io
import itertools
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.client import Client
from mcp_types import AudioContent

from cs_mcp import secrets as secrets_module
from cs_mcp.config import Role, Settings
from cs_mcp.sandbox import Sandbox
from cs_mcp.secrets import RedactingFilter, Secret, redact
from cs_mcp.server import build_server
from tests.conftest import Connect

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


# --- Every exit, and any long run of the key whatever its shape (issue 16) ---------------------------

# Not shaped cs_key_...: only the registry of secrets can catch it.
ODD_KEY = "sk-live-9fJ2kQ7xZp4LmN8wR3tV1cYb"
NUMBER_ID = "00000000-0000-4000-8000-000000000001"


def leaks(text: str, key: str = ODD_KEY) -> list[str]:
    """Every run of 8 characters of `key` (any case) found in `text`."""
    folded = text.lower()
    return [key[i : i + 8] for i in range(len(key) - 7) if key[i : i + 8].lower() in folded]


def partial_echo_api(request: httpx.Request) -> httpx.Response:
    """An API that echoes the caller's key minus its last 4 characters, upper-cased, and cut at the front."""
    key = request.headers["authorization"].removeprefix("Bearer ")
    path = request.url.path.removeprefix("/api/v1")
    if path == "/numbers":
        number = {"id": NUMBER_ID, "phone_number": "+18135550100", "name": f"Line {key[:-4]}"}
        return httpx.Response(200, json={"data": {"numbers": [number], "total": 1}})
    if path == "/numbers/export":
        rows = f"id,phone_number,name\n{NUMBER_ID},+18135550100,{key[:-4]}\n{NUMBER_ID},+18135550101,{key.upper()}\n"
        return httpx.Response(200, text=rows * 40, headers={"content-type": "text/csv"})
    return httpx.Response(401, json={"error": {"code": "401", "message": f"Invalid API key ...{key[3:]}"}})


def odd_key_server(**overrides: object) -> tuple[Settings, Any]:
    settings = Settings(
        api_key=Secret(ODD_KEY), base_url="http://api.test/api/v1", role=Role.MANAGER, **overrides
    )
    return settings, build_server(settings, transport=httpx.MockTransport(partial_echo_api))


def test_any_run_of_eight_characters_of_a_registered_secret_is_masked() -> None:
    Secret(ODD_KEY)
    for echoed in (ODD_KEY[:-4], ODD_KEY[4:], ODD_KEY[5:13], ODD_KEY.upper(), f'"{ODD_KEY[2:]}"'):
        masked = redact(f"before {echoed} after")
        assert not leaks(masked), masked
        assert masked.startswith("before ") and masked.endswith(" after")
    assert redact(f"x{ODD_KEY[:7]}y") == f"x{ODD_KEY[:7]}y", "7 characters are too few to matter"
    assert redact("sandbox_scale, account_manager") == "sandbox_scale, account_manager", (
        "the published sandbox keys are masked whole, but their pieces are ordinary words"
    )


def test_a_run_at_any_offset_of_any_length_is_masked_whole() -> None:
    """The scan finds only every fourth position's run of a secret: a run starting at any offset of the
    text, of any length from 8, at any place in a secret (of either length modulo 4), at the text's end or
    not, is still masked, and nothing around it is."""
    other = "pk-Zt8Hq2Wm5Rv9Xc3Ny7Lb4Gd6Jf1Ks0PaQe"  # 37 characters: ODD_KEY has 32
    Secret(ODD_KEY), Secret(other)
    for key, before, after in itertools.product(
        (ODD_KEY, other),
        ("#" * lead for lead in range(9)),
        ("|", ""),  # neither is in a key
    ):
        for start in range(len(key) - 7):
            for stop in {start + 8, start + 9, start + 11, len(key)}:
                if stop <= len(key):
                    masked = redact(f"{before}{key[start:stop]}{after}")
                    assert masked == f"{before}{secrets_module.MASK}{after}", (before, start, stop, masked)


async def test_a_partly_echoed_odd_key_is_masked_in_results_errors_and_resources(
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, server = odd_key_server(max_output_tokens=500)
    with caplog.at_level(logging.DEBUG):
        async with Client(server) as client:
            listed = await client.call_tool("list_numbers", {})
            failed = await client.call_tool("get_numbers_bulk_stats", {})
            exported = await client.call_tool("export_numbers_csv", {})
            uri = exported.structured_content["resource_uri"]
            resource = await client.read_resource(uri)
    assert not listed.is_error and failed.is_error and "401" in failed.content[0].text
    assert "Line ********" in listed.content[0].text
    assert exported.content[1].type == "resource_link", "the export is over the budget, so linked"
    assert "********" in resource.contents[0].text
    for output in (listed, failed, exported, resource):
        assert not leaks(output.model_dump_json()), output
    assert not leaks(caplog.text)


async def test_the_export_resource_does_not_serve_the_key(sandbox: Any, connect: Any) -> None:
    key = "cs_key_sandbox_manager"
    sandbox.state["numbers"][0]["name"] = key  # as if someone named a number so in CallScaler's app
    async with connect("manager", max_output_tokens=500) as client:  # small: the export becomes a resource
        exported = await client.call_tool("export_numbers_csv", {})
        resource = await client.read_resource(exported.structured_content["resource_uri"])
    assert key in sandbox.state["numbers"][0]["name"], "the API holds the key in its data"
    assert key not in exported.model_dump_json()
    assert key not in resource.model_dump_json() and "cs_key_********" in resource.contents[0].text


async def test_prompts_and_resource_errors_are_redacted() -> None:
    _, server = odd_key_server()
    async with Client(server) as client:
        prompt = await client.get_prompt("move_number_to_flow", {"number": ODD_KEY[:-4], "call_flow": "Main"})
        with pytest.raises(Exception) as refused:
            await client.read_resource(f"callscaler://numbers/{ODD_KEY}")
    assert "********" in prompt.messages[0].content.text
    assert not leaks(prompt.model_dump_json())
    assert "unknown status" in str(refused.value) and not leaks(str(refused.value))


def test_a_logged_traceback_is_redacted() -> None:
    Secret(ODD_KEY)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("cs_mcp.test_secrets")
    log.addHandler(handler)
    try:
        raise RuntimeError(f"the API said {ODD_KEY[:-4]}")
    except RuntimeError:
        log.exception("failed")
    finally:
        log.removeHandler(handler)
    assert "RuntimeError: the API said ********" in stream.getvalue()
    assert not leaks(stream.getvalue())


async def test_the_audit_log_is_redacted(tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    _, server = odd_key_server(audit_log=audit, confirm_sms=False)
    arguments = {"from_number": "+18135550100", "to_number": "+14075550777", "body": f"key {ODD_KEY[:-4]}"}
    async with Client(server) as client:
        await client.call_tool("send_sms", arguments)
    assert audit.read_text() and not leaks(audit.read_text())


@pytest.mark.anyio
async def test_masking_never_corrupts_audio_even_when_a_secret_looks_like_it(
    sandbox: Sandbox, connect: Connect, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A low-entropy secret (here 64 `A`s) matches the long runs of a silent MP3's base64: the audio must
    still arrive whole."""
    # registered for this test only
    monkeypatch.setattr(secrets_module, "_pieces", set(secrets_module._pieces))
    monkeypatch.setattr(secrets_module, "_anchors", set(secrets_module._anchors))
    Secret("A" * 64)
    voicemail = min(sandbox.state["voicemails"], key=lambda v: v["duration_seconds"])
    async with connect(max_output_tokens=20_000) as client:
        result = await client.call_tool("get_voicemail_recording", {"voicemail_id": voicemail["id"]})
    audio = next(block for block in result.content if isinstance(block, AudioContent))
    assert len(base64.b64decode(audio.data, validate=True)) == result.structured_content["bytes"]
