"""Configuration: options and environment, and bad configuration stopping at start with exit 2."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from cs_mcp.cli import main, parse_call_arguments
from cs_mcp.config import DEFAULT_BASE_URL, Role, add_common_options, settings_from
from cs_mcp.errors import ConfigError


def parse(*argv: str, **env: str):
    parser = argparse.ArgumentParser()
    add_common_options(parser)
    return settings_from(parser.parse_args(list(argv)), env)


def test_defaults_are_least_privilege() -> None:
    settings = parse(CALLSCALER_API_KEY="cs_key_abc12345")
    assert settings.role is Role.VIEWER
    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.toolsets is None and not settings.read_only and not settings.sandbox
    assert settings.max_output_tokens == 4000


def test_options_win_over_the_environment() -> None:
    settings = parse(
        "--role",
        "manager",
        "--toolsets",
        "numbers,calls",
        "--max-output-tokens",
        "2000",
        CALLSCALER_API_KEY="cs_key_abc12345",
        CALLSCALER_ROLE="owner",
        CS_MCP_TOOLSETS="forms",
    )
    assert settings.role is Role.MANAGER
    assert settings.toolsets == {"numbers", "calls"}
    assert settings.max_output_tokens == 2000


def test_environment_is_read() -> None:
    settings = parse(
        CALLSCALER_API_KEY="cs_key_abc12345",
        CALLSCALER_ROLE="admin",
        CS_MCP_READ_ONLY="1",
        CALLSCALER_BASE_URL="http://127.0.0.1:8700/api/v1/",
        CS_MCP_SANDBOX_SCALE="3",
    )
    assert settings.role is Role.ADMIN and settings.read_only
    assert settings.base_url == "http://127.0.0.1:8700/api/v1"
    assert settings.sandbox_scale == 3


def test_sandbox_needs_no_key_and_picks_the_role_key() -> None:
    settings = parse("--sandbox", "--role", "manager")
    assert settings.sandbox and settings.api_key.reveal() == "cs_key_sandbox_manager"


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        ((), {}, "no API key"),
        (("--role", "boss"), {"CALLSCALER_API_KEY": "cs_key_x1234567"}, "unknown role 'boss'"),
        (("--toolsets", "numbers,bogus"), {"CALLSCALER_API_KEY": "cs_key_x1234567"}, "unknown toolset bogus"),
        (
            ("--base-url", "callscaler.com/api"),
            {"CALLSCALER_API_KEY": "cs_key_x1234567"},
            "malformed base URL",
        ),
        (("--max-output-tokens", "lots"), {"CALLSCALER_API_KEY": "cs_key_x1234567"}, "whole number"),
        (("--sandbox-scale", "0", "--sandbox"), {}, "between 1 and 1000"),
    ],
)
def test_bad_configuration_is_refused(argv: tuple[str, ...], env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse(*argv, **env)


def run_cli(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    return subprocess.run(
        [sys.executable, "-m", "cs_mcp", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, **(env or {})},
    )


@pytest.mark.parametrize(
    "argv",
    [
        (),
        ("serve", "--role", "root"),
        ("tools", "--toolsets", "nope", "--sandbox"),
        ("--base-url", "ftp://x"),
    ],
)
def test_cli_stops_with_one_line_on_stderr_and_exit_2(argv: tuple[str, ...]) -> None:
    done = run_cli(
        *argv, env={"CALLSCALER_API_KEY": "cs_key_live_hidden_999"} if "--base-url" in argv else None
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cs-mcp: error: ")
    assert "cs_key_live_hidden_999" not in done.stderr


def test_call_arguments_parse_json_values_and_merge() -> None:
    arguments = parse_call_arguments(["limit=5", "contains=Tampa", "has_calls=false"], '{"status": "active"}')
    assert arguments == {"status": "active", "limit": 5, "contains": "Tampa", "has_calls": False}
    with pytest.raises(ConfigError):
        parse_call_arguments(["oops"], None)
    with pytest.raises(ConfigError):
        parse_call_arguments([], "[1]")


def test_main_returns_2_on_bad_configuration(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "--role", "nobody", "--sandbox"]) == 2
    assert "unknown role" in capsys.readouterr().err


def test_tools_needs_no_api_key() -> None:
    done = run_cli("tools", "--role", "manager")
    assert done.returncode == 0, done.stderr
    assert "46 tools for role manager" in done.stdout
