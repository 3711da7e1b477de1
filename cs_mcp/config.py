"""Configuration: one table of options, read from flags and the environment, validated once at start.

`OPTIONS` is the only place an option's flag, environment variable, default, range and help are
written; it builds every command's argparse options and reads and validates their values.
`Settings` is the single source of truth every other module reads. Bad configuration raises
`ConfigError` with one line that says what to fix; the CLI prints it and exits 2.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cs_mcp.errors import ConfigError
from cs_mcp.secrets import Secret
from cs_mcp.spec import ALWAYS, TOOLSETS, ConfirmMode, Role, ToolSpec
from cs_mcp.state.location import USER_DATA_FOLDER, parse_location
from cs_mcp.state.sqlite_store import MEMORY

SANDBOX_BASE_URL = "http://sandbox.invalid/api/v1"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# 128 bits, written as hex: what `secrets.token_hex(16)` gives at the least.
MIN_HTTP_TOKEN_CHARS = 32
MAKE_A_TOKEN = 'python -c "import secrets; print(secrets.token_hex(32))"'

SWITCH_ON, SWITCH_OFF = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off", ""})
API_COMMANDS = frozenset({"serve", "tools", "call"})  # SPEC.md's "Options common to serve, tools, call"


# -- parsers: text as typed (flag, environment or the table's default) to a value, ValueError if wrong


def parse_role(text: str) -> Role:
    try:
        return Role.parse(text)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _base_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"malformed base URL {text!r}: expected like {DEFAULT_BASE_URL}")
    return text.rstrip("/")


def _toolsets(text: str) -> frozenset[str] | None:
    """None means all."""
    if text.strip().lower() == "all":
        return None
    names = frozenset(part.strip() for part in text.split(",") if part.strip())
    unknown = sorted(names - set(TOOLSETS))
    if unknown or not names:
        raise ValueError(
            f"unknown toolset {', '.join(unknown) or '(none given)'}: use 'all' or some of {', '.join(TOOLSETS)}"
        )
    return names


def _http_token(text: str) -> Secret:
    # The message never repeats the token, not even its length.
    if len(text) < MIN_HTTP_TOKEN_CHARS or not text.isascii() or not text.isprintable() or " " in text:
        raise ValueError(
            f"needs at least {MIN_HTTP_TOKEN_CHARS} random characters (128 bits) of printable ASCII "
            f"without spaces; make one with {MAKE_A_TOKEN}"
        )
    return Secret(text)


def _public_url(text: str) -> str:
    parts = urlsplit(text)
    if (
        parts.scheme not in {"http", "https"}
        or not parts.netloc
        or parts.path.strip("/")
        or parts.query
        or parts.fragment
    ):
        raise ValueError(
            f"malformed public URL {text!r}: expected the scheme and host users reach, like https://mcp.example.com"
        )
    return f"{parts.scheme}://{parts.netloc}"


# A secret of few distinct characters ("aaaa...", "abab...") is long but guessable, and its 8-character
# pieces, registered for masking, would match ordinary text (runs of one letter) and cut it.
MIN_SECRET_DISTINCT_CHARS = 10


def _server_secret(text: str) -> Secret:
    if len(text) < MIN_HTTP_TOKEN_CHARS or len(set(text)) < MIN_SECRET_DISTINCT_CHARS:
        raise ValueError(
            f"needs at least {MIN_HTTP_TOKEN_CHARS} random characters (128 bits) with at least "
            f"{MIN_SECRET_DISTINCT_CHARS} different ones; make one with {MAKE_A_TOKEN}"
        )
    return Secret(text)


def _time_zone(text: str) -> ZoneInfo:
    try:
        return ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {text!r}: use an IANA name such as America/New_York") from None


def _path(text: str) -> Path:
    return Path(text).expanduser()


def _fault(text: str) -> str:
    from cs_mcp.sandbox.faults import FaultInjector  # only `cs-mcp sandbox` takes faults

    FaultInjector.parse(text)
    return text


def _switch(text: str) -> bool:
    word = text.strip().lower()
    if word not in SWITCH_ON | SWITCH_OFF:
        raise ValueError(f"expected 1 or 0 (or true/false, yes/no, on/off), got {text!r}")
    return word in SWITCH_ON


# -- the table


@dataclass(frozen=True)
class Option:
    """One option: how it is spelt, where else it is read from, its default, and what it accepts.

    `default` is written as a user would type it and parsed like any other value, so help, SPEC and
    `Settings` all show and use the same one. Whole numbers give `bounds`; the rest a `parse`.
    """

    name: str  # the attribute it fills; its flag is --name with dashes
    help: str
    commands: frozenset[str]
    env: str | None = None
    default: str | None = None
    parse: Callable[[str], Any] = str
    bounds: tuple[int, int] | None = None
    choices: tuple[str, ...] | None = None
    switch: bool = False  # a flag without a value; its environment variable takes 1/0
    repeat: bool = False  # may be given more than once; the value is a tuple
    flag: bool = True  # False: environment only (the API key)
    secret: bool = False  # its value never appears in a message
    metavar: str | None = None

    @property
    def option_string(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def shown_default(self) -> str:
        if self.switch:
            return "off"
        return "none" if self.default is None else self.default

    def convert(self, text: str) -> Any:
        if self.switch:
            return _switch(text)
        if self.choices is not None and text not in self.choices:
            raise ValueError(f"expected one of {', '.join(self.choices)}, got {text!r}")
        if self.bounds is not None:
            return _whole_number(text, *self.bounds)
        return self.parse(text)

    def help_text(self) -> str:
        where = f"env {self.env}{'=1' if self.switch else ''}; " if self.env else ""
        bounds = f"{self.bounds[0]}-{self.bounds[1]}; " if self.bounds else ""
        # argparse formats help with %: a literal one must be doubled.
        return f"{self.help} ({bounds}{where}default {self.shown_default})".replace("%", "%%")


def _whole_number(text: str, minimum: int, maximum: int) -> int:
    try:
        number = int(text.strip())
    except ValueError:
        raise ValueError(f"expected a whole number, got {text!r}") from None
    if not minimum <= number <= maximum:
        raise ValueError(f"expected a whole number between {minimum} and {maximum}, got {number}")
    return number


SERVE, SANDBOX = frozenset({"serve"}), frozenset({"sandbox"})
SCALED = API_COMMANDS | SANDBOX

OPTIONS: tuple[Option, ...] = (
    Option(
        "api_key",
        "the CallScaler API key; required unless --sandbox",
        API_COMMANDS,
        env="CALLSCALER_API_KEY",
        flag=False,
        secret=True,
    ),
    Option(
        "base_url",
        "API base URL",
        API_COMMANDS,
        env="CALLSCALER_BASE_URL",
        default="https://callscaler.com/api/v1",
        parse=_base_url,
        metavar="URL",
    ),
    Option(
        "role",
        "the role the key has: viewer, manager, admin or owner; least privilege by default",
        API_COMMANDS,
        env="CALLSCALER_ROLE",
        default="viewer",
        parse=parse_role,
        metavar="ROLE",
    ),
    Option(
        "toolsets",
        "comma-separated toolsets to serve, or all",
        API_COMMANDS,
        env="CS_MCP_TOOLSETS",
        default="all",
        parse=_toolsets,
        metavar="A,B,...",
    ),
    Option("read_only", "hide every write tool", API_COMMANDS, env="CS_MCP_READ_ONLY", switch=True),
    Option(
        "sandbox",
        "use the embedded sandbox; the role picks the key cs_key_sandbox_<role>",
        API_COMMANDS,
        env="CS_MCP_SANDBOX",
        switch=True,
    ),
    Option(
        "sandbox_scale",
        "K times the seeded sandbox business (numbers, flows, calls, messages)",
        SCALED,
        env="CS_MCP_SANDBOX_SCALE",
        default="1",
        bounds=(1, 1000),
        metavar="K",
    ),
    Option(
        "max_output_tokens",
        "largest tool result, in tokens",
        API_COMMANDS,
        env="CS_MCP_MAX_OUTPUT_TOKENS",
        default="4000",
        bounds=(500, 10**6),
        metavar="N",
    ),
    Option(
        "time_zone",
        "the business's time zone (IANA name): weekday, hour, day, week and month groups are in it",
        API_COMMANDS,
        env="CS_MCP_TIME_ZONE",
        default="UTC",
        parse=_time_zone,
        metavar="ZONE",
    ),
    Option(
        "confirm",
        "how purchases, releases, deletes and SMS are confirmed",
        API_COMMANDS,
        env="CS_MCP_CONFIRM",
        default=ConfirmMode.AUTO,
        choices=ConfirmMode.ALL,
    ),
    Option(
        "no_confirm_sms",
        "send SMS without confirmation",
        API_COMMANDS,
        env="CS_MCP_NO_CONFIRM_SMS",
        switch=True,
    ),
    Option(
        "audit_log",
        "append every write as a JSON line to this file",
        API_COMMANDS,
        env="CS_MCP_AUDIT_LOG",
        parse=_path,
        metavar="PATH",
    ),
    Option(
        "max_purchases_per_day",
        "cap on numbers bought per day",
        API_COMMANDS,
        env="CS_MCP_MAX_PURCHASES_PER_DAY",
        default="3",
        bounds=(0, 10**6),
        metavar="N",
    ),
    Option(
        "max_sms_per_hour",
        "cap on SMS sent per hour",
        API_COMMANDS,
        env="CS_MCP_MAX_SMS_PER_HOUR",
        default="30",
        bounds=(0, 10**6),
        metavar="N",
    ),
    Option(
        "state",
        "where the guardrails keep tokens and cap counts: a SQLite file (shared by this user's processes, "
        "kept across restarts), :memory: (this process only), or redis://host:port/db (shared by replicas)",
        API_COMMANDS,
        env="CS_MCP_STATE",
        default=USER_DATA_FOLDER,
        parse=parse_location,
        metavar="PATH|redis://...",
    ),
    Option(
        "transport",
        "serve MCP over stdio or Streamable HTTP",
        SERVE,
        default="stdio",
        choices=("stdio", "http"),
    ),
    Option("host", "address to bind", SERVE | SANDBOX, default="127.0.0.1", metavar="HOST"),
    Option("port", "TCP port of the MCP endpoint", SERVE, default="8000", bounds=(1, 65535), metavar="PORT"),
    Option("port", "TCP port of the REST API", SANDBOX, default="8700", bounds=(1, 65535), metavar="PORT"),
    Option(
        "http_token",
        f"bearer token required over HTTP; required when binding anything but loopback; at least "
        f"{MIN_HTTP_TOKEN_CHARS} characters, e.g. from {MAKE_A_TOKEN}",
        SERVE,
        env="CS_MCP_HTTP_TOKEN",
        parse=_http_token,
        secret=True,
        metavar="TOKEN",
    ),
    Option(
        "hosted",
        "serve many users over HTTP: no API key is held; each caller brings their own "
        "(Authorization: Bearer cs_key_..., with X-CallScaler-Role) and sees their role's tools",
        SERVE,
        env="CS_MCP_HOSTED",
        switch=True,
    ),
    Option(
        "public_url",
        "the URL users reach the hosted server at (behind a TLS-terminating proxy: its https URL); "
        "none means http://HOST:PORT",
        SERVE,
        env="CS_MCP_PUBLIC_URL",
        parse=_public_url,
        metavar="URL",
    ),
    Option(
        "secret",
        f"hosted mode's signing secret, the same on every replica; at least {MIN_HTTP_TOKEN_CHARS} characters",
        SERVE,
        env="CS_MCP_SECRET",
        parse=_server_secret,
        flag=False,
        secret=True,
    ),
    Option(
        "stateless_http",
        "serve HTTP without MCP sessions, so any replica answers any request of the 2025-11-25 era "
        "(confirmation by token then; the 2026-07-28 era never has sessions)",
        SERVE,
        env="CS_MCP_STATELESS_HTTP",
        switch=True,
    ),
    Option(
        "allowed_host",
        "another Host name to answer over HTTP, e.g. a reverse proxy's",
        SERVE,
        repeat=True,
        metavar="HOST",
    ),
    Option(
        "fault",
        "inject a fault, e.g. latency=20ms or status=429:times=3:path=/numbers*",
        SANDBOX,
        parse=_fault,
        repeat=True,
        metavar="SPEC",
    ),
)


def options_for(command: str) -> tuple[Option, ...]:
    return tuple(option for option in OPTIONS if command in option.commands)


def default_of(name: str, command: str = "serve") -> Any:
    """The table's default for `name`, parsed: what `Settings` and `Caps` fall back to."""
    option = next(o for o in options_for(command) if o.name == name)
    if option.switch:
        return False
    return None if option.default is None else option.convert(option.default)


def add_options(parser: argparse.ArgumentParser, command: str) -> None:
    """Give `parser` the flags of `command` from the table, with their env var and default in the help.

    Flags default to None so that `read_options` can tell "not given" from "given"."""
    for option in options_for(command):
        if not option.flag:
            continue
        if option.switch:
            parser.add_argument(
                option.option_string, action="store_true", default=None, help=option.help_text()
            )
        else:
            parser.add_argument(
                option.option_string,
                action="append" if option.repeat else "store",
                default=None,
                metavar=option.metavar or (f"{{{','.join(option.choices)}}}" if option.choices else None),
                help=option.help_text(),
            )
    environment_only = [o for o in options_for(command) if not o.flag]
    if environment_only:
        environment = "environment: " + "; ".join(f"{o.env}: {o.help}" for o in environment_only)
        parser.epilog = f"{parser.epilog} {environment}" if parser.epilog else environment


def read_options(
    command: str, args: argparse.Namespace, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Every option of `command`, validated: the flag if given, else its environment variable if set
    and not empty, else the table's default. Raises ConfigError naming where the bad value came from."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for option in options_for(command):
        given = getattr(args, option.name, None) if option.flag else None
        if option.switch and given:
            values[option.name] = True
        elif given is not None:
            texts = given if option.repeat else [given]
            values[option.name] = _converted(option, option.option_string, texts)
        elif option.env and env.get(option.env, "").strip():
            values[option.name] = _converted(option, option.env, [env[option.env].strip()])
        else:
            values[option.name] = () if option.repeat else default_of(option.name, command)
    return values


def _converted(option: Option, source: str, texts: list[str]) -> Any:
    converted = []
    for text in texts:
        try:
            converted.append(option.convert(text))
        except (ValueError, ConfigError) as exc:
            # Whatever a parser says, a secret's value is not repeated back.
            message = str(exc).replace(text, "(hidden)") if option.secret and text else str(exc)
            raise ConfigError(f"{source}: {message}") from None
    return tuple(converted) if option.repeat else converted[0]


# -- settings


@dataclass(frozen=True)
class Caps:
    """Operator limits on actions that cost money or reach people."""

    purchases_per_day: int = default_of("max_purchases_per_day")
    sms_per_hour: int = default_of("max_sms_per_hour")


DEFAULT_BASE_URL: str = default_of("base_url")


@dataclass(frozen=True)
class Settings:
    api_key: Secret
    base_url: str = DEFAULT_BASE_URL
    role: Role = default_of("role")
    toolsets: frozenset[str] | None = default_of("toolsets")  # None means all
    read_only: bool = False
    sandbox: bool = False
    sandbox_scale: int = default_of("sandbox_scale")
    max_output_tokens: int = default_of("max_output_tokens")
    time_zone: ZoneInfo = default_of("time_zone")
    confirm_mode: str = default_of("confirm")
    confirm_sms: bool = True
    audit_log: Path | None = None
    caps: Caps = field(default_factory=Caps)
    http_token: Secret | None = None
    # Settings built in code (tests, the demo, examples) keep guardrail state in this process unless
    # told; the command line's default is the file in the user's data folder.
    state: str = MEMORY
    stateless_http: bool = False
    # Hosted mode: no key of its own (`api_key` unused); each caller is a principal (cs_mcp.hosted).
    hosted: bool = False
    public_url: str | None = None
    secret: Secret | None = None

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
            runs_as = (
                f"your role is {self.role.label}" if self.hosted else f"this server runs as {self.role.label}"
            )
            return f"it needs the {spec.role.label} role ({runs_as})"
        if self.toolsets is not None and spec.toolset not in self.toolsets:
            return f"toolset {spec.toolset} is not enabled"
        if self.read_only and spec.writes:
            return "it changes data, and the server is read-only"
        return None

    def for_role(self, role: Role) -> Settings:
        """These settings as a caller with `role` sees them (hosted mode: one server, every role)."""
        return self if role == self.role else replace(self, role=role)

    @classmethod
    def from_options(cls, values: Mapping[str, Any], *, require_key: bool = True) -> Settings:
        """Settings from `read_options` values. `require_key=False` is for commands that never call
        the API (`cs-mcp tools`)."""
        common: dict[str, Any] = {
            "toolsets": values["toolsets"],
            "read_only": values["read_only"],
            "sandbox_scale": values["sandbox_scale"],
            "max_output_tokens": values["max_output_tokens"],
            "time_zone": values["time_zone"],
            "confirm_mode": values["confirm"],
            "confirm_sms": not values["no_confirm_sms"],
            "audit_log": values["audit_log"],
            "caps": Caps(
                purchases_per_day=values["max_purchases_per_day"],
                sms_per_hour=values["max_sms_per_hour"],
            ),
            "http_token": values.get("http_token"),
            "state": values["state"],
            "stateless_http": values.get("stateless_http", False),
        }
        if values.get("hosted"):
            common.update(_hosted_options(values))
            require_key = False
        if values["sandbox"]:
            return cls.for_sandbox(values["role"], **common)
        key = "" if values.get("hosted") else values["api_key"] or ""
        if not key and require_key:
            raise ConfigError(
                "no API key: set CALLSCALER_API_KEY, or pass --sandbox to try the embedded sandbox"
            )
        return cls(api_key=Secret(key), base_url=values["base_url"], role=values["role"], **common)


def _hosted_options(values: Mapping[str, Any]) -> dict[str, Any]:
    """What `--hosted` adds, checked: HTTP only, a signing secret, no key or token of the server's own."""
    if values.get("transport") != "http":
        raise ConfigError(
            "--hosted serves many users over HTTP: add --transport http (stdio serves one user, "
            "with CALLSCALER_API_KEY)"
        )
    if values.get("secret") is None:
        raise ConfigError(
            f"--hosted needs CS_MCP_SECRET, at least {MIN_HTTP_TOKEN_CHARS} random characters shared by every "
            f"replica; make one with {MAKE_A_TOKEN}"
        )
    if values.get("api_key"):
        raise ConfigError(
            "--hosted holds no API key of its own (each caller brings theirs): unset CALLSCALER_API_KEY"
        )
    if values.get("http_token") is not None:
        raise ConfigError(
            "--hosted authenticates each caller by their own key in the Authorization header: drop --http-token"
        )
    host = f"[{values['host']}]" if ":" in values["host"] else values["host"]
    public_url = values.get("public_url") or f"http://{host}:{values['port']}"
    return {"hosted": True, "public_url": public_url, "secret": values["secret"]}
