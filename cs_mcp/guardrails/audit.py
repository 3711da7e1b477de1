"""The audit log: one JSON line per write tool call, `started` before the API acts, then the outcome.
Each line names the principal (a keyed hash of the API key, narrowed to the MCP session where there is
one), in hosted mode the user (the hash of their key alone, the same across their sessions), and the replica (host name and pid), so the logs of several replicas can be merged.

Fail closed: when a log is configured and the `started` line cannot be written (disk full, folder gone),
the write is not sent. Outcome lines that fail are reported on stderr; the action already happened.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cs_mcp.errors import ConfigError
from cs_mcp.guardrails.preview import TOKEN_ARGUMENT, GuardrailError
from cs_mcp.secrets import redact

logger = logging.getLogger("cs_mcp.audit")

NOT_REQUIRED = "not_required"
# An argument longer than this is logged as its head and its length: a refused call can't fill the disk.
MAX_LOGGED_CHARS = 500


def stamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def replica() -> str:
    """Which process wrote a line (host name and pid): replicas may share one log, or have theirs merged."""
    return f"{socket.gethostname()}:{os.getpid()}"


class AuditUnavailable(GuardrailError):
    """The `started` line could not be written, so the write was not sent."""


class AuditLog:
    """Append-only JSON lines. Each entry is one `os.write` of a whole line on an O_APPEND descriptor,
    then fsync: a crash can lose at most the entry being written, never half of one or an older one."""

    FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT

    def __init__(self, path: Path) -> None:
        self.path = path
        try:  # fail at start, not at the first purchase; and readable by its owner only, even if it existed
            fd = os.open(path, self.FLAGS, 0o600)
            try:
                if path.is_file():
                    os.fchmod(fd, 0o600)
            finally:
                os.close(fd)
        except OSError as exc:
            raise ConfigError(f"cannot open the audit log {path}: {exc.strerror}") from None

    def write(self, entry: dict[str, Any]) -> None:
        """Append one entry durably; OSError if it could not be."""
        line = (json.dumps(entry, default=str) + "\n").encode()  # ASCII-escaped: never a raw newline
        fd = os.open(self.path, self.FLAGS, 0o600)
        try:
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(f"short write ({written} of {len(line)} bytes)")
            os.fsync(fd)
        finally:
            os.close(fd)


def loggable(value: Any) -> Any:
    """Arguments as the audit log keeps them: secrets masked, tokens hidden, long strings cut."""
    if isinstance(value, str):
        text = redact(value)
        return text if len(text) <= MAX_LOGGED_CHARS else f"{text[:MAX_LOGGED_CHARS]}[… {len(text)} chars]"
    if isinstance(value, dict):
        return {
            str(k)[:MAX_LOGGED_CHARS]: "[redacted]" if k == TOKEN_ARGUMENT else loggable(v)
            for k, v in list(value.items())[:50]
        }
    if isinstance(value, list | tuple):
        return [loggable(v) for v in value[:50]]
    return value


@dataclass
class AuditRecord:
    """One write-tool call's audit lines: `started` just before the API is asked to act (so a crash in the
    middle still leaves a trace), then the outcome, both carrying the same `call` id."""

    tool: str
    arguments: dict[str, Any]
    principal: str
    log: AuditLog | None = None  # None: a read, or no audit log configured
    user: str | None = None  # hosted mode: the caller's principal id, across their sessions
    confirmation: str = NOT_REQUIRED
    outcome: str = "done"
    detail: str | None = None
    call: str = field(default_factory=lambda: secrets.token_hex(6))

    def started(self) -> None:
        """Say, durably, that the API is about to be asked to act; refuse the write if that fails."""
        try:
            self._write("started")
        except OSError as exc:
            self.outcome, self.detail = "refused", f"audit log unwritable: {exc}"
            raise AuditUnavailable(
                f"{self.tool} was not sent: the audit log {self.log.path if self.log else ''} cannot be "
                f"written ({exc}). Nothing was done. Ask the operator to fix the audit log (disk space, "
                "folder, permissions), then call again."
            ) from None

    def finish(self) -> None:
        try:
            self._write(self.outcome)
        except OSError as exc:
            logger.error(
                "could not append the %s outcome of %s to the audit log: %s", self.outcome, self.tool, exc
            )

    def _write(self, outcome: str) -> None:
        if self.log is None:
            return
        entry = {
            "time": stamp(time.time()),
            "call": self.call,
            "tool": self.tool,
            "arguments": loggable(self.arguments),
            "principal": self.principal,
            "replica": replica(),
            "confirmation": self.confirmation,
            "outcome": outcome,
        }
        if self.user is not None:
            entry["user"] = self.user
        if self.detail and outcome == self.outcome:
            entry["reason" if outcome == "refused" else "message"] = redact(self.detail)
        self.log.write(entry)
