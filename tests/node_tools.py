"""The Node.js tools `.ci/node-tools` installs (Inspector, conformance suite, MCPB CLI).

Tests that need them fail when they are missing, rather than skipping quietly: CI installs them, so a
missing tool is a broken install. A developer without Node can opt out explicitly with
CS_MCP_SKIP_NODE_TESTS=1.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NODE_BIN = Path(__file__).resolve().parent.parent / ".ci/cache/node/node_modules/.bin"


def node_tool(name: str) -> list[str]:
    """The command that runs one installed Node tool."""
    path = NODE_BIN / name
    if not path.exists():
        if os.environ.get("CS_MCP_SKIP_NODE_TESTS") == "1":
            pytest.skip(f"{name} not installed and CS_MCP_SKIP_NODE_TESTS=1")
        pytest.fail(f"{name} is not installed: run `bash .ci/node-tools` (or set CS_MCP_SKIP_NODE_TESTS=1)")
    return [str(path)]
