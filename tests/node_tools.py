"""The Node.js tools `.ci/node-tools` installs (Inspector, conformance suite, Node 22, MCPB CLI).

A test that needs them installs them on first use, from the npm registry with the pinned versions in
`.ci/node-tools`, so `python -m pytest` passes on a fresh machine. If they still cannot be had, the
test fails rather than skipping quietly; a developer without Node opts out explicitly with
CS_MCP_SKIP_NODE_TESTS=1.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / ".ci/cache/node/node_modules"
NODE_BIN = NODE_MODULES / ".bin"


def ensure_node_tools(paths: Iterable[Path]) -> None:
    missing = [path for path in paths if not path.exists()]
    if not missing:
        return
    if os.environ.get("CS_MCP_SKIP_NODE_TESTS") == "1":
        pytest.skip("Node tools not installed and CS_MCP_SKIP_NODE_TESTS=1")
    done = subprocess.run(["bash", str(ROOT / ".ci/node-tools")], capture_output=True, text=True, timeout=900)
    still = [str(path) for path in missing if not path.exists()]
    if still:
        pytest.fail(
            f"Node tools missing ({', '.join(still)}) and `bash .ci/node-tools` could not install them:\n"
            f"{done.stderr[-2000:]}\nSet CS_MCP_SKIP_NODE_TESTS=1 to skip these tests on purpose."
        )


def node_tool(name: str) -> list[str]:
    """The command that runs one installed Node tool."""
    ensure_node_tools([NODE_BIN / name])
    return [str(NODE_BIN / name)]
