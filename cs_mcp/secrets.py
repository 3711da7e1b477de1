"""Keeping the API key (and the HTTP bearer token) out of every output, log line and exception."""

from __future__ import annotations

import logging
import re

# Anything shaped like a CallScaler key is masked, not only the configured one: an API error body or a
# user's argument could echo another key.
_KEY_PATTERN = re.compile(r"cs_key_[A-Za-z0-9_\-]+")
_registered: set[str] = set()


class Secret:
    """A string that never shows itself: `str`, `repr` and formatting all give a mask."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        if len(value) >= 8:
            _registered.add(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def contains_secret(text: str) -> bool:
    return any(value in text for value in _registered) or _KEY_PATTERN.search(text) is not None


def redact(text: str) -> str:
    """Mask every registered secret and anything shaped like an API key."""
    for value in _registered:
        if value in text:
            text = text.replace(value, "********")
    return _KEY_PATTERN.sub("cs_key_********", text)


class RedactingFilter(logging.Filter):
    """Logging filter that masks secrets in the final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
