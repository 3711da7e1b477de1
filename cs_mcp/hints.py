"""What cs-mcp tells a person at a terminal: that a stdio server is waiting, and how to connect an assistant.

Shared by `cs-mcp serve` (one line on stderr: stdout is the MCP channel) and the end of `cs-mcp demo`.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from pathlib import Path

from cs_mcp.config import Settings

SANDBOX_ARGS = ("serve", "--sandbox", "--role", "manager")


def server_command() -> list[str]:
    """How to start this very cs-mcp, with absolute paths: assistants start servers without the shell's
    PATH. The `cs-mcp` script where it is on PATH, else this Python with `-m cs_mcp`."""
    found = shutil.which("cs-mcp")
    return [str(Path(found).resolve())] if found else [sys.executable, "-m", "cs_mcp"]


def waiting_line(settings: Settings) -> str:
    where = "the sandbox business" if settings.sandbox else "your CallScaler account"
    return (
        f"cs-mcp: serving MCP over stdio ({where}, role {settings.role.label}); waiting for an MCP client "
        "on stdin. An assistant starts this for you; to look around by hand try `cs-mcp demo` or "
        "`cs-mcp tools`. Ctrl+C stops."
    )


def connect_instructions() -> str:
    """How to add cs-mcp to the assistants people use, with this machine's absolute paths in it."""
    full = [*server_command(), *SANDBOX_ARGS]
    command, args = full[0], full[1:]
    desktop = {"mcpServers": {"callscaler": {"command": command, "args": args}}}
    return "\n".join(
        (
            "Connect an assistant (the sandbox first; for your account, drop --sandbox and set",
            "CALLSCALER_API_KEY and CALLSCALER_ROLE in the server's environment):",
            f"  Claude Code:    claude mcp add --scope user callscaler -- {shlex.join(full)}",
            "  Claude Desktop: Settings > Developer > Edit Config; in claude_desktop_config.json put",
            f"                  {json.dumps(desktop)}",
            "                  then restart Claude Desktop (or install the cs-mcp.mcpb bundle instead).",
            f"  Any MCP client: command {command}, arguments {shlex.join(args)}",
        )
    )
