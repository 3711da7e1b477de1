"""The pages people read (README.md, docs/*.md) hold to the code: the README's commands run as written, the
options table is generated from config.OPTIONS, and the confirmation examples are what the tools print.

Shared with tests/test_client_setup.py: the pages and their fenced code blocks."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from cs_mcp import http_limits
from cs_mcp.cli import question_for
from cs_mcp.config import MIN_HTTP_TOKEN_CHARS, OPTIONS, Settings
from cs_mcp.guardrails import Preview
from cs_mcp.inprocess import call_tool
from cs_mcp.tools_table import OPTIONS_TABLE_HEADER, options_table
from tests import surface

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = (README, *sorted(DOCS.glob("*.md")))
MANIFEST = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))


def blocks_of(page: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.DOTALL)


def code_blocks(language: str, pages: tuple[Path, ...] = PAGES) -> list[tuple[str, str]]:
    """Every `language` block of `pages`, with the page's path relative to the repository."""
    return [(str(page.relative_to(ROOT)), block) for page in pages for block in blocks_of(page, language)]


# -- the README's commands, run as written

# Steps of the README's shell lines a test does not run, each with why. A step matching none of these
# is run; a step of a kind the runner does not know fails the test, so nothing is skipped silently.
NOT_RUN = {
    "python3 -m venv .venv": "makes a new venv; the tests run in such an install already",
    ". .venv/bin/activate": "activates that venv; the commands below run with its cs-mcp on PATH",
    "pip install -e .": "downloads cs_mcp's dependencies from PyPI (tests need no network)",
    "bash .ci/run": "is CI itself: it installs from PyPI and npm, then runs this test among the others",
    "claude mcp add": "changes Claude Code's configuration and needs Claude Code; "
    "tests/test_client_setup.py parses the cs-mcp command it adds",
    "cs-mcp serve": "a server that runs until stopped; tests/test_transports.py and "
    "tests/test_independent_clients.py serve it",
}


def readme_steps() -> list[str]:
    """Each `&&`-joined step of each line of the README's shell blocks, in order."""
    lines = [line.strip() for block in blocks_of(README, "bash") for line in block.splitlines()]
    return [
        step.strip() for line in lines if line and not line.startswith("#") for step in line.split(" && ")
    ]


def reason_not_run(step: str) -> str | None:
    return next((reason for prefix, reason in NOT_RUN.items() if step.startswith(prefix)), None)


STEPS_RUN = [step for step in readme_steps() if reason_not_run(step) is None]


def test_every_readme_step_is_run_or_says_why_not() -> None:
    steps = readme_steps()
    for step in steps:
        assert reason_not_run(step) or step.startswith(("cs-mcp ", "export ")), (
            f"the README's `{step}` is neither run by this test nor listed in NOT_RUN with a reason"
        )
    unused = [prefix for prefix in NOT_RUN if not any(step.startswith(prefix) for step in steps)]
    assert not unused, f"NOT_RUN lists steps the README no longer has: {unused}"
    assert any(step == "cs-mcp demo" for step in STEPS_RUN), "the first command's demo must run"


def run_as_written(step: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`step` through bash, with this install's cs-mcp first on PATH and this checkout's code. HOME and
    XDG_DATA_HOME point into tmp_path, so the default state file is made there, not in the user's home."""
    scripts = Path(sys.executable).parent
    assert (scripts / "cs-mcp").exists(), f"no cs-mcp script beside {sys.executable}: pip install -e ."
    env = {
        **os.environ,
        "PATH": f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    for name in ("CALLSCALER_API_KEY", "CALLSCALER_ROLE", "CS_MCP_STATE", "CS_MCP_SANDBOX"):
        env.pop(name, None)  # the README's commands assume a fresh shell
    return subprocess.run(
        ["bash", "-c", step], capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL
    )


@pytest.mark.parametrize("step", [s for s in STEPS_RUN if s.startswith("cs-mcp ")])
def test_the_readme_cs_mcp_commands_run_as_written(step: str, tmp_path: Path) -> None:
    done = run_as_written(step, tmp_path)
    assert done.returncode == 0, f"{step}\n{done.stderr}"
    assert done.stdout.strip() and "Traceback" not in done.stderr, step
    if step.startswith("cs-mcp tools --role "):
        role = step.split()[3]
        assert done.stdout.rstrip().endswith(
            f"{surface.tool_count(role)} tools for role {role}; * = needs confirmation"
        )
    if step == "cs-mcp demo":
        assert "Connect an assistant" in done.stdout
    if "--json" in shlex.split(step):  # the output flag, not --json-args
        json.loads(done.stdout)


@pytest.mark.parametrize("step", [s for s in STEPS_RUN if s.startswith("export ")])
def test_the_readme_exports_give_what_cs_mcp_accepts(step: str, tmp_path: Path) -> None:
    variable = step.removeprefix("export ").split("=", 1)[0]
    done = run_as_written(f'{step} && printf %s "${variable}"', tmp_path)
    assert done.returncode == 0, done.stderr
    assert variable in {"CS_MCP_HTTP_TOKEN", "CS_MCP_SECRET"} and len(done.stdout) >= MIN_HTTP_TOKEN_CHARS


# -- docs/configuration.md


def test_the_options_table_is_generated_from_config_options() -> None:
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert options_table() in page, (
        "docs/configuration.md's options table is stale: run `python -m cs_mcp.tools_table --write`"
    )
    table = page[page.index(OPTIONS_TABLE_HEADER) :].split("\n\n", 1)[0]
    for option in OPTIONS:
        assert (not option.flag or f"`{option.option_string}" in table) and (
            not option.env or f"`{option.env}" in table
        ), option.name


def test_every_http_limit_variable_is_documented() -> None:
    source = Path(http_limits.__file__).read_text(encoding="utf-8")
    variables = set(re.findall(r'"(CS_MCP_HTTP_[A-Z_]+)"', source))
    assert variables
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert all(f"`{variable}`" in page for variable in variables), variables


# -- docs/guardrails.md: the confirmation examples are what the tools print

GOOGLE_ADS_TAMPA = "38a1217a-3300-4132-ae99-779140b6eeea"
SMS = {"from_number": "+18135931346", "to_number": "+14077500489", "body": "Thanks, see you Thursday"}


async def preview_of(tool: str, arguments: dict[str, object]) -> Preview:
    result = await call_tool(Settings.for_sandbox("manager"), tool, arguments)
    assert result.structured_content and result.structured_content["status"] == "needs_confirmation"
    return Preview.model_validate(result.structured_content["preview"])


@pytest.mark.anyio
async def test_the_release_question_in_the_docs_is_what_the_user_is_asked() -> None:
    page = (DOCS / "guardrails.md").read_text(encoding="utf-8")
    preview = await preview_of("release_number", {"number_id": GOOGLE_ADS_TAMPA})
    assert GOOGLE_ADS_TAMPA in page
    assert f"Please confirm:\n{preview.describe()}\nTick the box and accept to do this once" in page


@pytest.mark.anyio
async def test_the_terminal_confirmation_in_the_docs_is_what_cs_mcp_call_prints() -> None:
    page = (DOCS / "guardrails.md").read_text(encoding="utf-8")
    preview = await preview_of("send_sms", SMS)
    command = (
        f"cs-mcp call send_sms from_number={SMS['from_number']} to_number={SMS['to_number']} "
        f'body="{SMS["body"]}" --sandbox --role manager'
    )
    assert command in page
    assert f"{preview.describe()}\n{question_for(preview)}y\nstatus: done" in page
