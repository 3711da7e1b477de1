"""Configuration: options and environment, and bad configuration stopping at start with exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from cs_mcp.cli import _parser, main, parse_call_arguments
from cs_mcp.config import DEFAULT_BASE_URL, OPTIONS, Option, Role, Settings, read_options
from cs_mcp.errors import ConfigError
from cs_mcp.secrets import Secret
from tests.surface import tool_count

# Positional arguments a command needs before its options.
REQUIRED = {"call": ["get_capabilities"]}


def values(command: str, *argv: str, **env: str) -> dict[str, Any]:
    return read_options(command, _parser().parse_args([command, *REQUIRED.get(command, []), *argv]), env)


def parse(*argv: str, command: str = "serve", **env: str) -> Settings:
    return Settings.from_options(values(command, *argv, **env))


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


KEY = {"CALLSCALER_API_KEY": "cs_key_live_hidden_999"}


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        ((), {}),
        (("serve", "--role", "root"), {}),
        (("tools", "--toolsets", "nope", "--sandbox"), {}),
        (("--base-url", "ftp://x"), KEY),
        (("serve", "--port", "http"), KEY),
        (("call", "get_capabilities", "--max-sms-per-hour", "-1"), KEY),
        (("call", "get_capabilities", "--sandbox"), {"CS_MCP_MAX_OUTPUT_TOKENS": "12"}),
        # `cs-mcp sandbox` printed a traceback for these.
        (("sandbox", "--sandbox-scale", "0"), {}),
        (("sandbox",), {"CS_MCP_SANDBOX_SCALE": "many"}),
        (("sandbox", "--fault", "status=abc"), {}),
        # argparse's own errors are one line too.
        (("tools", "--no-such-option"), {}),
        (("sandbox", "--port"), {}),
    ],
)
def test_cli_stops_with_one_line_on_stderr_and_exit_2(argv: tuple[str, ...], env: dict[str, str]) -> None:
    done = run_cli(*argv, env=env)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cs-mcp: error: "), done.stderr
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
    assert f"{tool_count('manager')} tools for role manager" in done.stdout


# -- every option of the table, for every command that takes it: default, flag, env, bad value

TOKEN = "0123456789abcdef0123456789abcdef"  # 32 hex characters: 128 bits


class Sample:
    """For one option: a good value as typed and what it reads as, a bad one (if any), the default."""

    def __init__(self, good: str, read: Any, default: Any, bad: str | None = None) -> None:
        self.good, self.read, self.default, self.bad = good, read, default, bad


SWITCH = Sample("1", True, False, bad="maybe")
# The defaults are written here again on purpose: they are SPEC.md's and README's promises.
SAMPLES = {
    "api_key": Sample("cs_key_abc12345", "cs_key_abc12345", None),
    "base_url": Sample(
        "http://127.0.0.1:8700/api/v1/",
        "http://127.0.0.1:8700/api/v1",
        DEFAULT_BASE_URL,
        "callscaler.com/api",
    ),
    "role": Sample("Manager", Role.MANAGER, Role.VIEWER, "boss"),
    "toolsets": Sample("numbers, calls", frozenset({"numbers", "calls"}), None, "numbers,bogus"),
    "read_only": SWITCH,
    "sandbox": SWITCH,
    "sandbox_scale": Sample("3", 3, 1, "0"),
    "max_output_tokens": Sample("2000", 2000, 4000, "lots"),
    "time_zone": Sample("America/Chicago", ZoneInfo("America/Chicago"), ZoneInfo("UTC"), "Mars/Olympus"),
    "confirm": Sample("token", "token", "auto", "page"),
    "no_confirm_sms": SWITCH,
    "audit_log": Sample("/tmp/audit.jsonl", Path("/tmp/audit.jsonl"), None),
    "max_purchases_per_day": Sample("0", 0, 3, "-1"),
    "max_sms_per_hour": Sample("7", 7, 30, "many"),
    "state": Sample("/tmp/cs-state.sqlite3", "/tmp/cs-state.sqlite3", "the user's data folder", "ftp://x/0"),
    "hosted": SWITCH,
    "public_url": Sample("https://mcp.example.test/", "https://mcp.example.test", None, "mcp.example.test"),
    "secret": Sample(TOKEN, TOKEN, None, "short-secret"),
    "stateless_http": SWITCH,
    "transport": Sample("http", "http", "stdio", "tcp"),
    "host": Sample("0.0.0.0", "0.0.0.0", "127.0.0.1"),
    "port": Sample("8123", 8123, None, "99999"),  # the default differs by command: see below
    "http_token": Sample(TOKEN, TOKEN, None, "short-token"),
    "allowed_host": Sample("calls.example.test", ("calls.example.test",), ()),
    "fault": Sample("latency=20ms", ("latency=20ms",), (), "bogus"),
}
PORTS = {"serve": 8000, "sandbox": 8700}
CASES = [
    pytest.param(option, command, id=f"{command}-{option.name}")
    for option in OPTIONS
    for command in sorted(option.commands)
]


def plain(value: Any) -> Any:
    return value.reveal() if isinstance(value, Secret) else value


def test_every_option_has_a_sample() -> None:
    assert {o.name for o in OPTIONS} == set(SAMPLES)


@pytest.mark.parametrize(("option", "command"), CASES)
def test_option_default(option: Option, command: str) -> None:
    expected = PORTS[command] if option.name == "port" else SAMPLES[option.name].default
    assert plain(values(command)[option.name]) == expected


@pytest.mark.parametrize(("option", "command"), [c for c in CASES if c.values[0].flag])
def test_option_flag(option: Option, command: str) -> None:
    sample = SAMPLES[option.name]
    argv = [option.option_string] if option.switch else [option.option_string, sample.good]
    # The flag wins over the environment, where there is one.
    env = {option.env: sample.bad or "x"} if option.env else {}
    assert plain(values(command, *argv, **env)[option.name]) == sample.read


@pytest.mark.parametrize(("option", "command"), [c for c in CASES if c.values[0].env])
def test_option_environment(option: Option, command: str) -> None:
    sample = SAMPLES[option.name]
    assert option.env is not None
    assert plain(values(command, **{option.env: sample.good})[option.name]) == sample.read


@pytest.mark.parametrize(("option", "command"), [c for c in CASES if SAMPLES[c.values[0].name].bad])
def test_option_bad_value_is_one_line_naming_where_it_came_from(option: Option, command: str) -> None:
    bad = SAMPLES[option.name].bad
    assert bad is not None
    tries: list[tuple[str, list[str], dict[str, str]]] = []
    if option.flag and not option.switch:
        tries.append((option.option_string, [option.option_string, bad], {}))
    if option.env:
        tries.append((option.env, [], {option.env: bad}))
    assert tries
    for source, argv, env in tries:
        with pytest.raises(ConfigError) as refused:
            values(command, *argv, **env)
        message = str(refused.value)
        assert message.startswith(f"{source}: ") and "\n" not in message
        if option.secret:
            assert bad not in message


@pytest.mark.parametrize("command", ["serve", "tools", "call", "sandbox"])
def test_help_shows_each_option_with_its_env_and_default(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for option in OPTIONS:
        if command not in option.commands:
            continue
        assert (option.option_string if option.flag else option.env) in shown
        if option.env:
            assert option.env in shown
        if option.flag:
            assert f"default {option.shown_default})" in shown


# SPEC.md's "Options common to serve, tools, call", row by row (minus --hosted and
# `--confirm url`, which later issues add): (flag, env, default shown).
SPEC_ROWS = [
    (None, "CALLSCALER_API_KEY", None),
    ("--base-url", "CALLSCALER_BASE_URL", "https://callscaler.com/api/v1"),
    ("--role", "CALLSCALER_ROLE", "viewer"),
    ("--toolsets", "CS_MCP_TOOLSETS", "all"),
    ("--read-only", "CS_MCP_READ_ONLY", "off"),
    ("--sandbox", "CS_MCP_SANDBOX", "off"),
    ("--max-output-tokens", "CS_MCP_MAX_OUTPUT_TOKENS", "4000"),
    ("--sandbox-scale", "CS_MCP_SANDBOX_SCALE", "1"),
    ("--http-token", "CS_MCP_HTTP_TOKEN", None),
    ("--confirm", "CS_MCP_CONFIRM", "auto"),
    ("--state", "CS_MCP_STATE", "the user's data folder"),
]


@pytest.mark.parametrize(("flag", "env", "default"), SPEC_ROWS)
def test_the_table_holds_spec_md(flag: str | None, env: str, default: str | None) -> None:
    (option,) = [o for o in OPTIONS if o.env == env]
    assert (option.option_string if option.flag else None) == flag
    assert option.default == default or option.shown_default == default
    assert {"serve", "tools", "call"} & option.commands


def test_switch_environment_variables_take_only_yes_or_no() -> None:
    assert values("tools", CS_MCP_READ_ONLY="yes")["read_only"] is True
    assert values("tools", CS_MCP_READ_ONLY="0")["read_only"] is False
    with pytest.raises(ConfigError, match="CS_MCP_READ_ONLY: expected 1 or 0"):
        values("tools", CS_MCP_READ_ONLY="enabled")


# -- the HTTP token: at least 128 bits, and never repeated back


@pytest.mark.parametrize("token", ["zq", "s3cret-token-value", "x" * 31, "0123456789abcdef 0123456789abcdef"])
def test_a_short_or_spaced_http_token_stops_start_up(token: str) -> None:
    with pytest.raises(ConfigError) as refused:
        values("serve", "--http-token", token)
    message = str(refused.value)
    assert "at least 32" in message and "secrets.token_hex(32)" in message
    assert token not in message


def test_a_128_bit_http_token_is_taken_and_kept_secret() -> None:
    settings = parse("--sandbox", "--http-token", TOKEN)
    assert settings.http_token is not None and settings.http_token.reveal() == TOKEN
    assert TOKEN not in repr(settings)


def test_a_short_http_token_from_the_environment_stops_the_cli_without_echoing_it() -> None:
    done = run_cli("serve", "--sandbox", env={"CS_MCP_HTTP_TOKEN": "hunter2-hunter2"})
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("cs-mcp: error: CS_MCP_HTTP_TOKEN: ") and done.stderr.count("\n") == 1
    assert "hunter2" not in done.stderr


def test_a_secret_option_is_never_repeated_back_whatever_its_parser_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def careless(text: str) -> str:
        raise ValueError(f"{text!r} is wrong")

    leaky = Option("key", "a secret", frozenset({"t"}), env="T_KEY", parse=careless, flag=False, secret=True)
    monkeypatch.setattr("cs_mcp.config.OPTIONS", (leaky,))
    with pytest.raises(ConfigError) as refused:
        read_options("t", _parser().parse_args(["tools"]), {"T_KEY": "s3cr3t-value"})
    assert "s3cr3t-value" not in str(refused.value) and str(refused.value).startswith("T_KEY: ")
