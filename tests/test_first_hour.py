"""A new user's first commands: `cs-mcp tools NAME`, `tools --json`, `serve` on a terminal, and the options
that exist (issue 15)."""

from __future__ import annotations

import base64
import json
import shlex
import subprocess
import sys
from typing import Any

import pytest

from cs_mcp import catalogue
from cs_mcp.cli import main, parse_call_arguments
from cs_mcp.config import Settings
from cs_mcp.server import build_server
from cs_mcp.spec import ToolSpec
from cs_mcp.tool_help import example_arguments, example_command
from tests.surface import tool_count

SPECS = catalogue.load()


def cli(*argv: str, stdin: str | None = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cs_mcp", *argv], capture_output=True, text=True, timeout=60, input=stdin
    )


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_every_tools_example_call_is_valid_as_typed(spec: ToolSpec) -> None:
    """The example's key=value words, parsed as `cs-mcp call` parses them, pass the tool's input model."""
    words = shlex.split(example_command(spec))
    pairs = [word for word in words[3:] if "=" in word and not word.startswith("-")]
    arguments = parse_call_arguments(pairs, None)
    spec.input_model.model_validate(arguments)
    assert arguments.keys() == example_arguments(spec).keys()


def test_tools_name_shows_types_constraints_defaults_enums_and_an_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["tools", "send_sms"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("send_sms: Text someone outside the business")
    assert "least role manager" in text and "asks the user first" in text
    assert "to_number           required; phone number, E.164 (+18135550100)" in text
    assert "body                required; text, 1-1600 characters" in text
    assert "cs-mcp call send_sms from_number=+18135550100 to_number=+18135550100 " in text
    assert text.rstrip().endswith("--role manager")

    assert main(["tools", "list_numbers"]) == 0
    text = capsys.readouterr().out
    assert "limit         default 20; integer 1-100" in text  # the bounds the published schema leaves out
    assert "status        optional; one of active, paused" in text
    assert (
        "sort          optional; any field an item shows, e.g. name, phone_number, total_calls, created_at"
        in text
    )
    assert "cs-mcp call list_numbers limit=5" in text

    assert main(["tools", "get_call_analytics"]) == 0
    assert (
        'metrics       default ["calls"]; list of one of calls, answered, missed' in capsys.readouterr().out
    )


def test_tools_with_an_unknown_name_suggests_the_nearest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "list_number"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == (
        "cs-mcp: error: no tool named 'list_number'; did you mean list_numbers or list_number_pools or "
        "get_number? (`cs-mcp tools` lists them)"
    )


@pytest.mark.anyio
async def test_tools_json_carries_each_input_schema_exactly_as_tools_list_publishes_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["tools", "--json", "--role", "manager"]) == 0
    printed = json.loads(capsys.readouterr().out)
    published = {tool.name: tool.input_schema for tool in await build_server(_manager()).list_tools()}
    assert printed["count"] == len(published) == tool_count("manager")
    assert {tool["name"]: tool["input_schema"] for tool in printed["tools"]} == published
    purchase = next(tool for tool in printed["tools"] if tool["name"] == "purchase_number")
    assert purchase["example"] == {"phone_number": "+18135550100"} and purchase["confirm"] is True


def test_tools_name_json_is_one_tool(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "get_call_flow", "--json"]) == 0
    tool: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert tool["name"] == "get_call_flow" and tool["input_schema"]["required"] == ["call_flow_id"]
    assert "hidden" not in tool


def test_serve_on_stdio_says_once_on_stderr_that_it_waits_and_writes_nothing_to_stdout() -> None:
    done = cli("serve", "--sandbox")  # stdin closes at once: the server ends
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "waiting for an MCP client on stdin" in lines[0] and "cs-mcp demo" in lines[0]
    assert "role viewer" in lines[0] and "sandbox" in lines[0]


def test_there_is_no_sms_recipient_cap_to_set() -> None:
    """send_sms takes one to_number: a per-call recipient cap would guard nothing, so there is none."""
    done = cli("tools", "--max-sms-recipients", "3")
    assert done.returncode == 2 and "unrecognized arguments: --max-sms-recipients" in done.stderr


@pytest.mark.anyio
async def test_get_capabilities_lists_only_caps_that_exist() -> None:
    from mcp.client import Client

    async with Client(build_server(_manager())) as client:
        result = await client.call_tool("get_capabilities", {})
    assert result.structured_content is not None
    assert set(result.structured_content["caps"]) == {"purchases_per_day", "sms_per_hour"}


def test_the_cli_cites_no_file_the_repository_lacks() -> None:
    import cs_mcp.cli

    assert "SPEC.md" not in (cs_mcp.cli.__doc__ or "")


def _manager() -> Settings:
    return Settings.for_sandbox("manager")


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_the_server_shows_its_icon_in_both_protocol_eras(mode: str) -> None:
    from importlib.resources import files
    from xml.etree import ElementTree

    from mcp.client import Client

    async with Client(build_server(_manager()), mode=mode) as client:
        assert client.server_info is not None
        (icon,) = client.server_info.icons or []
    assert icon.mime_type == "image/svg+xml" and icon.sizes == ["any"]
    svg = base64.b64decode(icon.src.removeprefix("data:image/svg+xml;base64,"))
    assert svg == files("cs_mcp").joinpath("icon.svg").read_bytes()
    assert ElementTree.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"
