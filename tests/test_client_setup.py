"""Client set-up as the README and docs/ give it: every JSON snippet parses and starts cs-mcp by its absolute
path with valid arguments (or names an HTTP endpoint with a bearer token the client fills in), and every
shell command that runs cs-mcp parses. The Claude Desktop extension (MCPB) is packed and served in
tests/test_distribution.py; tests/test_docs.py runs the README's commands."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import PurePosixPath
from typing import Any

import cs_mcp
from cs_mcp.cli import _parser
from tests.test_docs import MANIFEST, code_blocks

# What a client expands at start: `${VAR}`, `${env:VAR}` (Cursor), `${input:id}` (VS Code). Never a key.
CLIENT_REFERENCE = r"\$\{(env:|input:)?[A-Za-z_-]+\}"
CS_MCP_SCRIPTS = {"cs-mcp", "cs-mcp.exe"}


def client_configs() -> list[tuple[str, dict[str, Any]]]:
    """Every JSON snippet in the README and docs/ that configures a client, with where it is."""
    return [(where, json.loads(block)) for where, block in code_blocks("json")]


def test_every_json_snippet_parses_and_runs_cs_mcp_by_its_absolute_path() -> None:
    stdio = 0
    for where, document in client_configs():
        servers = document.get("mcpServers", {}) | document.get("servers", {})
        inputs = {entry["id"] for entry in document.get("inputs", [])}
        for name, entry in servers.items():
            label = f"{where}: {name}"
            if "url" in entry:
                _check_http_entry(label, entry)
            else:
                stdio += 1
                command = PurePosixPath(entry["command"])
                assert command.name in CS_MCP_SCRIPTS, label
                # Assistants start servers without the shell's PATH: a bare `cs-mcp` fails to connect.
                assert command.is_absolute(), f"{label}: give the absolute path of cs-mcp"
                arguments = _parser().parse_args(entry["args"])
                assert arguments.command == "serve", label
            for value in entry.get("env", {}).values():
                assert re.fullmatch(CLIENT_REFERENCE, value), (label, value)
            for reference in re.findall(r"\$\{input:([A-Za-z_-]+)\}", json.dumps(entry)):
                assert reference in inputs, f"{label}: ${{input:{reference}}} has no entry in inputs"
    assert stdio >= 3, "the README should show client configuration"


def _check_http_entry(label: str, entry: dict[str, Any]) -> None:
    assert re.fullmatch(r"https?://[^/\s]+/mcp", entry["url"]), label
    authorization = entry["headers"]["Authorization"]
    assert re.fullmatch(rf"Bearer {CLIENT_REFERENCE}", authorization), (label, authorization)


def cs_mcp_invocation(line: str) -> list[str] | None:
    """The arguments after `cs-mcp` (bare or a path to it) in a shell line, or None if it runs no cs-mcp."""
    for step in line.split("&&"):
        words = shlex.split(step.split("|")[0])
        for index, word in enumerate(words):
            if PurePosixPath(word).name in CS_MCP_SCRIPTS:
                return words[index + 1 :]
    return None


def test_every_shell_command_names_a_real_cs_mcp_invocation() -> None:
    invocations = [
        (where, line, cs_mcp_invocation(line))
        for where, block in code_blocks("bash")
        for line in block.splitlines()
        if "cs-mcp" in line
    ]
    checked = [item for item in invocations if item[2] is not None]
    assert len(checked) >= 8
    for where, line, invocation in checked:
        assert invocation is not None
        parsed, leftover = _parser().parse_known_args(invocation)
        assert parsed.command in {None, "serve", "tools", "call", "demo", "sandbox"}, (where, line)
        assert all("=" in item for item in leftover), (where, line)


def test_manifest_matches_the_package() -> None:
    assert MANIFEST["version"] == cs_mcp.__version__
    assert MANIFEST["user_config"]["api_key"]["sensitive"] is True
    assert "${user_config.api_key}" in MANIFEST["server"]["mcp_config"]["env"].values()
