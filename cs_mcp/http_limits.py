"""The HTTP server's limits, read in one place: environment variables `CS_MCP_HTTP_*` with safe defaults.

Until the option table carries them as `--http-*` options, these variables are the way to set them.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

from cs_mcp.errors import ConfigError

logger = logging.getLogger("cs_mcp.http")

# File descriptors kept back from connections for everything else the process opens: the listening
# socket, the state store, the audit log, connections to the CallScaler API.
FD_RESERVE = 128
MIN_CONNECTIONS = 16


@dataclass(frozen=True)
class HttpLimits:
    max_connections: int = 1000
    """Open connections held at once; past it, the longest-waiting connection that has not sent a whole
    request is closed to make room, and uvicorn answers 503 once every connection is busy."""
    read_timeout: float = 10.0
    """Seconds a connection has to deliver a whole request (headers and body) after it opens or after
    its previous response; uvicorn itself has no such deadline."""
    max_sessions: int = 200
    """MCP sessions (2025-11-25 era) per principal; past it the least valuable idle session is ended."""
    keep_alive_timeout: int = 5
    """Seconds an idle keep-alive connection stays open between requests."""
    session_idle_timeout: float = 30 * 60
    """Seconds of no request after which the SDK ends a session (its default, said here explicitly)."""
    max_header_bytes: int = 16 * 1024
    """Largest request head (request line and headers) h11 will buffer."""
    backlog: int = 2048
    """Connections the kernel queues while the server is busy accepting."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> HttpLimits:
        defaults = cls()
        return cls(
            max_connections=int(
                _number(environ, "CS_MCP_HTTP_MAX_CONNECTIONS", defaults.max_connections, MIN_CONNECTIONS)
            ),
            read_timeout=_number(environ, "CS_MCP_HTTP_READ_TIMEOUT", defaults.read_timeout, 0.1),
            max_sessions=int(_number(environ, "CS_MCP_HTTP_MAX_SESSIONS", defaults.max_sessions, 1)),
        )

    def within_open_files(self, open_files: int) -> HttpLimits:
        """These limits with connections capped so that every one of them can get a file descriptor."""
        room = max(open_files - FD_RESERVE, MIN_CONNECTIONS)
        if self.max_connections <= room:
            return self
        logger.warning(
            "the open-file limit (%d) allows %d HTTP connections, not %d; raise `ulimit -n` to allow more",
            open_files,
            room,
            self.max_connections,
        )
        return replace(self, max_connections=room)


def _number(environ: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw) if isinstance(default, float) else int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if not math.isfinite(value) or value < minimum:
        raise ConfigError(f"{name} must be a finite number of at least {minimum}, not {raw}")
    return value


def raise_open_file_limit() -> int:
    """Lift the soft limit on open files to the hard one where the platform allows; return the limit in force.

    Each connection holds a descriptor: the common default soft limit of 1,024 is what let a
    thousand half-open connections starve real clients.
    """
    try:
        import resource
    except ImportError:  # not POSIX: nothing to raise, and no known limit to fit
        return FD_RESERVE + HttpLimits.max_connections
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as exc:
            logger.warning("could not raise the open-file limit from %d to %d: %s", soft, hard, exc)
    return soft if soft != resource.RLIM_INFINITY else FD_RESERVE + HttpLimits.max_connections
