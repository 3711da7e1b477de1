"""Input checks that turn bad requests into the API's error answers (mostly 422 naming the field)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from datetime import date, datetime
from typing import Any, Literal, NoReturn, overload

from cs_mcp.sandbox.formats import is_e164, is_uuid


class ApiError(Exception):
    """An error answer: `{"error": {"code": "<status>", "message": ..., **extra}}`."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": {"code": str(self.status), "message": self.message, **self.extra}}


def not_found(what: str, ident: object) -> ApiError:
    return ApiError(404, f"No {what} with id '{ident}'")


class Fields:
    """Typed, validated access to query parameters (strings) or a JSON body (typed values).

    Every accessor answers 422 with a message naming the field and saying what is expected.
    """

    def __init__(self, values: Mapping[str, Any], *, from_query: bool) -> None:
        self.values = values
        self.from_query = from_query

    def fail(self, name: str, why: str) -> NoReturn:
        where = "Query parameter" if self.from_query else "Field"
        raise ApiError(422, f"{where} '{name}' {why}", field=name)

    def present(self, name: str) -> bool:
        return name in self.values

    def sent_as(self, name: str, legacy: str) -> str:
        """The name a value was sent under: `name`, or `legacy`, an older page's name for the same thing.

        Sending both is ambiguous: 422 naming the legacy one.
        """
        if legacy not in self.values:
            return name
        if name in self.values:
            self.fail(legacy, f"and '{name}' say the same thing (one is the legacy name): send one of them")
        return legacy

    def only(self, allowed: Iterable[str]) -> None:
        """Reject fields the endpoint does not know, so a typo is not silently ignored."""
        unknown = sorted(set(self.values) - set(allowed))
        if unknown:
            self.fail(unknown[0], f"is not accepted here (accepted: {', '.join(sorted(allowed))})")

    def _raw(self, name: str, required: bool) -> Any:
        value = self.values.get(name)
        if value is None and required:
            self.fail(name, "is required")
        return value

    @overload
    def string(self, name: str, *, required: Literal[True], max_length: int = ...) -> str: ...
    @overload
    def string(self, name: str, *, required: bool = ..., max_length: int = ...) -> str | None: ...
    def string(self, name: str, *, required: bool = False, max_length: int = 200) -> str | None:
        value = self._raw(name, required)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(name, "must be a non-empty string")
        if len(value) > max_length:
            self.fail(name, f"must be at most {max_length} characters (got {len(value)})")
        return value.strip()

    @overload
    def integer(
        self, name: str, *, default: int, minimum: int | None = ..., maximum: int | None = ...
    ) -> int: ...
    @overload
    def integer(
        self, name: str, *, default: None = ..., minimum: int | None = ..., maximum: int | None = ...
    ) -> int | None: ...
    def integer(
        self, name: str, *, default: int | None = None, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        value = self.values.get(name)
        if value is None:
            return default
        if self.from_query and isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(name, "must be an integer")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.fail(name, f"must be between {minimum} and {maximum} (got {value})")
        return value

    @overload
    def choice(self, name: str, options: Iterable[str], *, default: str) -> str: ...
    @overload
    def choice(self, name: str, options: Iterable[str], *, default: None = ...) -> str | None: ...
    def choice(self, name: str, options: Iterable[str], *, default: str | None = None) -> str | None:
        value = self.values.get(name)
        if value is None:
            return default
        options = tuple(options)
        if value not in options:
            self.fail(name, f"must be one of {', '.join(options)} (got {value!r})")
        return value

    def boolean(self, name: str) -> bool | None:
        """true or false (a query parameter spells them out, in any case)."""
        value = self.values.get(name)
        if value is None:
            return None
        if self.from_query and isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            self.fail(name, f"must be true or false (got {value!r})")
        return value

    @overload
    def phone(self, name: str, *, required: Literal[True]) -> str: ...
    @overload
    def phone(self, name: str, *, required: bool = ...) -> str | None: ...
    def phone(self, name: str, *, required: bool = False) -> str | None:
        value = self._raw(name, required)
        if value is not None and not is_e164(value):
            self.fail(name, f"must be an E.164 phone number such as +18135551234 (got {value!r})")
        return value

    def uuid(self, name: str, *, required: bool = False) -> str | None:
        value = self._raw(name, required)
        if value is not None and not is_uuid(value):
            self.fail(name, f"must be a UUID (got {value!r})")
        return value

    def uuid_list(self, name: str) -> list[str]:
        value = self._raw(name, True)
        if not isinstance(value, list) or not value:
            self.fail(name, "must be a non-empty list of UUIDs")
        bad = [item for item in value if not is_uuid(item)]
        if bad:
            self.fail(name, f"must contain only UUIDs (got {bad[0]!r})")
        return list(dict.fromkeys(value))

    def day(self, name: str) -> date | None:
        value = self.values.get(name)
        if value is None:
            return None
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            with suppress(ValueError):
                return date.fromisoformat(value)
        self.fail(name, f"must be a date YYYY-MM-DD (got {value!r})")

    def moment(self, name: str) -> datetime | None:
        """An ISO 8601 timestamp or a bare date."""
        value = self.values.get(name)
        if value is None:
            return None
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            self.fail(name, f"must be an ISO 8601 timestamp such as 2026-01-15T08:00:00Z (got {value!r})")

    def csv(self, name: str, options: Iterable[str], *, default: list[str], max_items: int) -> list[str]:
        """A comma-separated list of known names, at most `max_items`."""
        value = self.values.get(name)
        if value is None:
            return default
        items = [item.strip() for item in value.split(",") if item.strip()]
        options = tuple(options)
        unknown = [item for item in items if item not in options]
        if unknown:
            self.fail(name, f"has unknown value {unknown[0]!r} (allowed: {', '.join(options)})")
        if not items or len(items) > max_items or len(set(items)) != len(items):
            self.fail(name, f"must list 1 to {max_items} distinct values")
        return items


# config_json: each step type and its fields, (kind, required). Extra fields are allowed, as the editor
# stores its own metadata; known fields must have the right shape.
STEP_FIELDS: dict[str, dict[str, tuple[str, bool]]] = {
    "greeting": {"message": ("text", False), "audio_url": ("text", False)},
    "forward": {
        "destination": ("phone", True),
        "timeout_seconds": ("seconds", False),
        "caller_id": ("text", False),
        "failover_steps": ("steps", False),
    },
    "voicemail": {
        "greeting": ("text", False),
        "max_length_seconds": ("seconds", False),
        "transcribe": ("bool", False),
        "notify_emails": ("texts", False),
    },
    "ivr": {
        "prompt": ("text", False),
        "timeout_seconds": ("seconds", False),
        "options": ("options", True),
        "invalid_steps": ("steps", False),
    },
    "multi_ring": {"destinations": ("ring", True), "timeout_seconds": ("seconds", False)},
    "round_robin": {"destinations": ("phones", True)},
    "schedule": {"timezone": ("text", False), "windows": ("windows", True), "closed_steps": ("steps", False)},
    "zip_code": {"routes": ("routes", True), "default_steps": ("steps", False)},
    "tag_route": {"routes": ("routes", True), "default_steps": ("steps", False)},
    "webhook": {"url": ("text", False)},  # deprecated: kept in configs, skipped during execution
    # Real-time bidding (a paid add-on): the caller keys in a ZIP code (default 3 retries), buyers bid
    # for the call within the timeout (default 12 s), above the minimum bid; else the failover route.
    "rtb": {
        "zip_prompt": ("text", False),
        "zip_retries": ("retries", False),
        "buyer_timeout_seconds": ("bid_seconds", False),
        "minimum_bid_cents": ("cents", False),
        "failover_steps": ("steps", True),
    },
}
SETTINGS_FIELDS: dict[str, tuple[str, bool]] = {
    "recording": ("bool", False),
    "whisper": ("text", False),
    "press_1": ("bool", False),
    "press1": ("bool", False),  # how another docs page spells press_1
}
MAX_ZIP_RETRIES = 5
MAX_BID_SECONDS = 60
MAX_BID_CENTS = 100_000
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
IVR_KEYS = frozenset("0123456789*#")
MAX_RING = 10


class ConfigError(Exception):
    """A config_json problem at a path such as `steps[1].options.2.steps[0].destination`."""


def validate_flow_config(config: Any) -> None:
    """Check a call flow's config_json; raise a 422 ApiError naming the path and the problem."""
    try:
        if not isinstance(config, dict):
            raise ConfigError("config_json: must be an object with a 'steps' list")
        _check_object(config, {"steps": ("steps", True), "settings": ("settings", False)}, "config_json")
    except ConfigError as exc:
        raise ApiError(422, f"Invalid call flow: {exc}", field="config_json") from None


def _check_object(obj: dict[str, Any], fields: Mapping[str, tuple[str, bool]], path: str) -> None:
    for name, (kind, required) in fields.items():
        if obj.get(name) is None:
            if required:
                raise ConfigError(f"{path}.{name}: is required")
            continue
        _CHECKS[kind](obj[name], f"{path}.{name}")


def _expect(ok: object, path: str, what: str) -> None:
    if not ok:
        raise ConfigError(f"{path}: must be {what}")


def _check_steps(steps: Any, path: str) -> None:
    _expect(isinstance(steps, list), path, "a list of steps")
    for i, step in enumerate(steps):
        where = f"{path}[{i}]"
        _expect(isinstance(step, dict), where, "an object with a 'type'")
        fields = STEP_FIELDS.get(step.get("type"))
        if fields is None:
            raise ConfigError(f"{where}.type: must be one of {', '.join(STEP_FIELDS)}")
        _check_object(step, fields, where)


def _check_list(value: Any, path: str, what: str, item: Callable[[Any], bool], most: int = 100) -> None:
    _expect(isinstance(value, list) and 0 < len(value) <= most, path, f"a list of 1 to {most} {what}")
    for i, element in enumerate(value):
        _expect(item(element), f"{path}[{i}]", what.rstrip("s"))


def _check_options(options: Any, path: str) -> None:
    _expect(isinstance(options, dict) and options, path, "an object keyed by keypress (0-9, *, #)")
    for key, option in options.items():
        _expect(key in IVR_KEYS, f"{path}.{key}", "keyed by a single keypress: 0-9, * or #")
        _expect(isinstance(option, dict), f"{path}.{key}", "an object with 'label' and 'steps'")
        _check_object(option, {"label": ("text", True), "steps": ("steps", True)}, f"{path}.{key}")


def _check_windows(windows: Any, path: str) -> None:
    _expect(isinstance(windows, list) and windows, path, "a non-empty list of windows")
    for i, window in enumerate(windows):
        where = f"{path}[{i}]"
        _expect(isinstance(window, dict), where, "an object with days, start, end and steps")
        fields = {
            "days": ("days", True),
            "start": ("time", True),
            "end": ("time", True),
            "steps": ("steps", True),
        }
        _check_object(window, fields, where)
        _expect(window["start"] < window["end"], f"{where}.end", "later than start")


def _check_routes(routes: Any, path: str) -> None:
    _expect(isinstance(routes, list) and routes, path, "a non-empty list of routes")
    for i, route in enumerate(routes):
        _expect(isinstance(route, dict), f"{path}[{i}]", "an object with 'match' and 'steps'")
        _check_object(route, {"match": ("texts", True), "steps": ("steps", True)}, f"{path}[{i}]")


def _check_settings(settings: Any, path: str) -> None:
    _expect(isinstance(settings, dict), path, "an object")
    _check_object(settings, SETTINGS_FIELDS, path)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _in_range(value: Any, path: str, low: int, high: int, what: str) -> None:
    whole = isinstance(value, int) and not isinstance(value, bool)
    _expect(whole and low <= value <= high, path, f"{what} ({low}-{high})")


_CHECKS: dict[str, Callable[[Any, str], None]] = {
    "steps": _check_steps,
    "settings": _check_settings,
    "text": lambda v, p: _expect(isinstance(v, str), p, "a string"),
    "bool": lambda v, p: _expect(isinstance(v, bool), p, "true or false"),
    "seconds": lambda v, p: _in_range(v, p, 1, 3600, "a number of seconds"),
    "bid_seconds": lambda v, p: _in_range(v, p, 1, MAX_BID_SECONDS, "a number of seconds"),
    "retries": lambda v, p: _in_range(v, p, 0, MAX_ZIP_RETRIES, "a number of retries"),
    "cents": lambda v, p: _in_range(v, p, 0, MAX_BID_CENTS, "an amount in cents"),
    "phone": lambda v, p: _expect(is_e164(v), p, "an E.164 phone number such as +18135551234"),
    "phones": lambda v, p: _check_list(v, p, "E.164 phone numbers", is_e164),
    "ring": lambda v, p: _check_list(v, p, "E.164 phone numbers", is_e164, MAX_RING),
    "texts": lambda v, p: _check_list(v, p, "non-empty strings", _is_text),
    "days": lambda v, p: _check_list(v, p, "day names (mon..sun)", DAYS.__contains__, len(DAYS)),
    "time": lambda v, p: _expect(
        isinstance(v, str) and re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", v) is not None, p, "a time HH:MM"
    ),
    "options": _check_options,
    "windows": _check_windows,
    "routes": _check_routes,
}
