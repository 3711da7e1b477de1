"""Client set-up as the README gives it: every JSON snippet parses and every command it names exists. The
Claude Desktop extension (MCPB) is packed and served in tests/test_distribution.py."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import cs_mcp
from cs_mcp.cli import _parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
MANIFEST = json.loads((ROOT / "manifest.json").read_text())


def readme_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_every_json_snippet_parses_and_runs_cs_mcp_with_valid_arguments() -> None:
    servers = {}
    for block in readme_blocks("json"):
        document = json.loads(block)
        servers |= document.get("mcpServers", {}) | document.get("servers", {})
    assert servers, "the README should show client configuration"
    for name, entry in servers.items():
        assert entry["command"] == "cs-mcp", name
        arguments = _parser().parse_args(entry["args"])
        assert arguments.command == "serve", name
        for value in entry.get("env", {}).values():  # a reference the client expands, never a key
            assert re.fullmatch(r"\$\{(env:|input:)?[A-Za-z_-]+\}", value), (name, value)


def test_every_shell_command_names_a_real_cs_mcp_invocation() -> None:
    commands = [line for block in readme_blocks("bash") for line in block.splitlines() if "cs-mcp" in line]
    assert len(commands) >= 8
    for line in commands:
        words = shlex.split(line.split("&&")[-1].split("|")[0])
        invocation = words[words.index("cs-mcp") + 1 :] if "cs-mcp" in words else None
        if invocation is None:  # e.g. `claude mcp add NAME -- cs-mcp ...`
            continue
        parsed, leftover = _parser().parse_known_args(invocation)
        assert parsed.command in {None, "serve", "tools", "call", "demo", "sandbox"}, line
        assert all("=" in item for item in leftover), line


def test_manifest_matches_the_package() -> None:
    assert MANIFEST["version"] == cs_mcp.__version__
    assert MANIFEST["user_config"]["api_key"]["sensitive"] is True
    assert "${user_config.api_key}" in MANIFEST["server"]["mcp_config"]["env"].values()
