"""Configuration: command-line options with environment fallbacks, validated once at start.

`Settings` is the single source of truth every other module reads. Bad configuration raises
`ConfigError` with one line that says what to fix; the CLI prints it and exits 2.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cs_mcp.errors import ConfigError
from cs_mcp.secrets import Secret
from cs_mcp.spec import ALWAYS, TOOLSETS, ConfirmMode, Role, ToolSpec

DEFAULT_BASE_URL = "https://callscaler.com/api/v1"
SANDBOX_BASE_URL = "http://sandbox.invalid/api/v1"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class Caps:
    """Operator limits on actions that cost money or reach people."""

    purchases_per_day: int = 3
    sms_per_hour: int = 30
    sms_recipients: int = 5


@dataclass(frozen=True)
class Settings:
    api_key: Secret
    base_url: str = DEFAULT_BASE_URL
    role: Role = Role.VIEWER
    toolsets: frozenset[str] | None = None  # None means all
    read_only: bool = False
    sandbox: bool = False
    sandbox_scale: int = 1
    max_output_tokens: int = 4000
    confirm_mode: str = ConfirmMode.AUTO
    confirm_sms: bool = True
    audit_log: Path | None = None
    caps: Caps = field(default_factory=Caps)
    http_token: Secret | None = None

    @classmethod
    def for_sandbox(cls, role: Role | str = Role.VIEWER, **overrides: object) -> Settings:
        """Settings for the embedded sandbox, as `--sandbox --role R` gives them."""
        role = parse_role(role) if isinstance(role, str) else role
        values: dict[str, object] = {
            "api_key": Secret(f"cs_key_sandbox_{role.label}"),
            "base_url": SANDBOX_BASE_URL,
            "role": role,
            "sandbox": True,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    def hidden_reason(self, spec: ToolSpec) -> str | None:
        """Why these settings hide the tool (a clause), or None when it is visible."""
        if spec.toolset == ALWAYS:
            return None
        if self.role < spec.role:
            return f"it needs the {spec.role.label} role (this server runs as {self.role.label})"
        if self.toolsets is not None and spec.toolset not in self.toolsets:
            return f"toolset {spec.toolset} is not enabled"
        if self.read_only and spec.writes:
            return "it changes data, and the server is read-only"
        return None


def parse_role(text: str) -> Role:
    try:
        return Role.parse(text)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _positive_int(name: str, value: object, *, minimum: int = 1, maximum: int = 10**9) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
    if not minimum <= number <= maximum:
        raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {number}")
    return number


def _base_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"malformed base URL {text!r}: expected like {DEFAULT_BASE_URL}")
    return text.rstrip("/")


def _toolsets(text: str | None) -> frozenset[str] | None:
    if not text or text.strip().lower() == "all":
        return None
    names = frozenset(part.strip() for part in text.split(",") if part.strip())
    unknown = sorted(names - set(TOOLSETS))
    if unknown:
        raise ConfigError(f"unknown toolset {', '.join(unknown)}: use 'all' or some of {', '.join(TOOLSETS)}")
    return names


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """The options `serve`, `tools` and `call` share (SPEC.md, "Options common to ...")."""
    parser.add_argument(
        "--base-url", help=f"API base URL (env CALLSCALER_BASE_URL; default {DEFAULT_BASE_URL})"
    )
    parser.add_argument("--role", help="viewer|manager|admin|owner (env CALLSCALER_ROLE; default viewer)")
    parser.add_argument("--toolsets", help="comma-separated toolsets, or all (env CS_MCP_TOOLSETS)")
    parser.add_argument("--read-only", action="store_true", default=None, help="hide every write tool")
    parser.add_argument("--sandbox", action="store_true", default=None, help="use the embedded sandbox")
    parser.add_argument("--sandbox-scale", help="K times the seeded sandbox business (default 1)")
    parser.add_argument("--max-output-tokens", help="largest tool result, in tokens (default 4000)")
    parser.add_argument(
        "--confirm", choices=ConfirmMode.ALL, help="how purchases, releases, deletes and SMS are confirmed"
    )
    parser.add_argument(
        "--no-confirm-sms", action="store_true", default=None, help="send SMS without confirmation"
    )
    parser.add_argument("--audit-log", help="append every write as a JSON line to this file")
    parser.add_argument("--max-purchases-per-day", help="cap on numbers bought per day (default 3)")
    parser.add_argument("--max-sms-per-hour", help="cap on SMS sent per hour (default 30)")
    parser.add_argument("--max-sms-recipients", help="cap on recipients of one send_sms call (default 5)")


def settings_from(
    args: argparse.Namespace, env: Mapping[str, str] | None = None, *, require_key: bool = True
) -> Settings:
    """Build validated `Settings` from parsed options, falling back to the environment.

    `require_key=False` is for commands that never call the API (`cs-mcp tools`)."""
    env = os.environ if env is None else env

    def pick(option: str, variable: str) -> str | None:
        value = getattr(args, option, None)
        return value if value is not None else env.get(variable)

    role = parse_role(pick("role", "CALLSCALER_ROLE") or "viewer")
    sandbox = bool(getattr(args, "sandbox", None)) or _flag(env.get("CS_MCP_SANDBOX"))
    read_only = bool(getattr(args, "read_only", None)) or _flag(env.get("CS_MCP_READ_ONLY"))
    scale = _positive_int("--sandbox-scale", pick("sandbox_scale", "CS_MCP_SANDBOX_SCALE") or 1, maximum=1000)
    budget = _positive_int(
        "--max-output-tokens", pick("max_output_tokens", "CS_MCP_MAX_OUTPUT_TOKENS") or 4000, minimum=500
    )
    confirm = pick("confirm", "CS_MCP_CONFIRM") or ConfirmMode.AUTO
    if confirm not in ConfirmMode.ALL:
        raise ConfigError(f"unknown confirmation mode {confirm!r}: use one of {', '.join(ConfirmMode.ALL)}")
    caps = Caps(
        purchases_per_day=_positive_int(
            "--max-purchases-per-day",
            pick("max_purchases_per_day", "CS_MCP_MAX_PURCHASES_PER_DAY") or 3,
            minimum=0,
        ),
        sms_per_hour=_positive_int(
            "--max-sms-per-hour", pick("max_sms_per_hour", "CS_MCP_MAX_SMS_PER_HOUR") or 30, minimum=0
        ),
        sms_recipients=_positive_int(
            "--max-sms-recipients", pick("max_sms_recipients", "CS_MCP_MAX_SMS_RECIPIENTS") or 5, maximum=100
        ),
    )
    audit = pick("audit_log", "CS_MCP_AUDIT_LOG")
    http_token = pick("http_token", "CS_MCP_HTTP_TOKEN")
    common: dict[str, object] = {
        "toolsets": _toolsets(pick("toolsets", "CS_MCP_TOOLSETS")),
        "read_only": read_only,
        "sandbox_scale": scale,
        "max_output_tokens": budget,
        "confirm_mode": confirm,
        "confirm_sms": not (
            bool(getattr(args, "no_confirm_sms", None)) or _flag(env.get("CS_MCP_NO_CONFIRM_SMS"))
        ),
        "audit_log": Path(audit) if audit else None,
        "caps": caps,
        "http_token": Secret(http_token) if http_token else None,
    }
    if sandbox:
        return Settings.for_sandbox(role, **common)
    key = env.get("CALLSCALER_API_KEY", "").strip()
    if not key and require_key:
        raise ConfigError("no API key: set CALLSCALER_API_KEY, or pass --sandbox to try the embedded sandbox")
    base_url = _base_url(pick("base_url", "CALLSCALER_BASE_URL") or DEFAULT_BASE_URL)
    return Settings(api_key=Secret(key), base_url=base_url, role=role, **common)  # type: ignore[arg-type]
