"""Where the guardrail state lives: `--state PATH|redis://...|:memory:`, by default a SQLite file in
the user's data folder (nothing to install, shared by every cs-mcp process of this user)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from cs_mcp.state.sqlite_store import MEMORY

USER_DATA_FOLDER = "the user's data folder"  # the option's default, as help and SPEC.md show it
REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})
FILE_NAME = "state.sqlite3"


def user_data_folder() -> Path:
    """The platform's per-user data folder for cs-mcp."""
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "cs-mcp"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "cs-mcp"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "cs-mcp"


def is_redis(location: str) -> bool:
    return urlsplit(location).scheme in REDIS_SCHEMES


def parse_location(text: str) -> str:
    """`--state` as typed, checked: a Redis URL, `:memory:`, the default, or a file path (expanded)."""
    text = text.strip()
    if text in {MEMORY, USER_DATA_FOLDER}:
        return text
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme not in REDIS_SCHEMES or not (parts.hostname or parts.path):
            raise ValueError(
                f"expected a file path, :memory: or redis://host:port/db, got scheme {parts.scheme!r}"
            )
        return text
    return str(Path(text).expanduser())


def resolve(location: str) -> str:
    """The location to open: the default becomes the file in the user's data folder."""
    return str(user_data_folder() / FILE_NAME) if location == USER_DATA_FOLDER else location
