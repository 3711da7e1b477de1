"""How users get cs-mcp: the MCP Registry's server.json, the PyPI wheel run by uvx, and the Claude Desktop
bundle served on a Python version other than the one that built it (issue 15).

The wheel and bundle tests install from PyPI with uv (and the bundle's packer from npm) on first use,
so they are marked `node` and run with the other tests of independently installed tools; uv's cache
lives in .ci/cache/uv, so later runs reuse what the first one fetched.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from cs_mcp import __version__
from cs_mcp.cli import COMMANDS
from cs_mcp.config import OPTIONS
from cs_mcp.spec import Role
from tests.node_tools import ROOT, ensure_node_tools
from tests.surface import tool_count

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
SERVER_JSON: dict[str, Any] = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
MANIFEST: dict[str, Any] = json.loads((ROOT / "manifest.json").read_text(encoding="utf-8"))
MCPB = ROOT / ".ci/cache/mcpb/node_modules/.bin/mcpb"
# Environment variables cs-mcp reads: the option table's, and the key's (which has no option).
ENVIRONMENT = {option.env for option in OPTIONS if option.env} | {"CALLSCALER_API_KEY"}


def uv_environment(**extra: str) -> dict[str, str]:
    """This environment (its certificates reach PyPI), a kept cache, and never a downloaded Python."""
    return {
        **os.environ,
        "UV_CACHE_DIR": str(ROOT / ".ci/cache/uv"),
        "UV_PYTHON_DOWNLOADS": "never",
        **extra,
    }


def uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert found, "uv is a test dependency (pip install -e '.[test]')"
    return found


# -- the MCP Registry's server.json, checked against what the registry documents for each field


def test_server_json_names_this_package_as_the_registry_documents() -> None:
    server = SERVER_JSON
    assert server["$schema"].startswith("https://static.modelcontextprotocol.io/schemas/")
    # Reverse-DNS name with exactly one slash; io.github.<owner>/ is proven by that GitHub owner.
    assert re.fullmatch(r"[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+", server["name"]) and 3 <= len(server["name"]) <= 200
    owner = server["name"].removeprefix("io.github.").split("/")[0]
    assert server["repository"] == {"url": PYPROJECT["urls"]["Repository"], "source": "github"}
    assert server["repository"]["url"].startswith(f"https://github.com/{owner}/")
    assert 1 <= len(server["description"]) <= 100 and 1 <= len(server["title"]) <= 100
    assert server["version"] == __version__  # a specific version, never a range or "latest"
    (package,) = server["packages"]
    assert package["registryType"] == "pypi" and package["registryBaseUrl"] == "https://pypi.org"
    assert package["identifier"] == PYPROJECT["name"] and package["version"] == __version__
    assert package["runtimeHint"] == "uvx" and package["transport"] == {"type": "stdio"}
    assert package["packageArguments"] == [{"type": "positional", "value": "serve"}]
    assert "serve" in COMMANDS


def test_server_json_environment_is_what_cs_mcp_reads() -> None:
    (package,) = SERVER_JSON["packages"]
    variables = {variable["name"]: variable for variable in package["environmentVariables"]}
    assert set(variables) <= ENVIRONMENT
    assert variables["CALLSCALER_API_KEY"]["isSecret"] is True
    assert variables["CALLSCALER_ROLE"]["choices"] == [role.label for role in Role]
    assert variables["CALLSCALER_ROLE"]["default"] == "viewer"
    for variable in variables.values():
        assert variable["format"] in {"string", "number", "boolean", "filepath"} and variable["description"]
        assert "default" not in variable or isinstance(variable["default"], str)


# -- the Claude Desktop bundle's manifest


def test_the_bundle_manifest_lets_uv_resolve_dependencies_on_the_users_machine() -> None:
    server = MANIFEST["server"]
    assert MANIFEST["manifest_version"] == "0.4" and server["type"] == "uv"
    assert MANIFEST["version"] == __version__ and MANIFEST["name"] == PYPROJECT["name"]
    assert MANIFEST["compatibility"]["runtimes"]["python"] == PYPROJECT["requires-python"]
    config = server["mcp_config"]
    assert config["command"] == "uv" and "PYTHONPATH" not in config.get("env", {})
    assert config["args"][:4] == ["run", "--directory", "${__dirname}", "cs-mcp"]
    assert config["args"][4] in COMMANDS and set(config["env"]) <= ENVIRONMENT
    assert (ROOT / server["entry_point"]).is_file()
    placeholders = set(re.findall(r"\$\{user_config\.(\w+)\}", json.dumps(config)))
    assert placeholders == set(MANIFEST["user_config"])


# -- built and run as a user would


@pytest.mark.node
def test_the_wheel_runs_with_uvx(tmp_path: Path) -> None:
    built = subprocess.run(
        [uv(), "build", "--wheel", "--out-dir", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        env=uv_environment(),
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("cs_mcp-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(f"cs_mcp-{__version__}.dist-info/METADATA").decode()
    assert {"cs_mcp/icon.svg", "cs_mcp/tool_specs/numbers.toml", "cs_mcp/input_schemas.json"} <= names
    assert "Project-URL: Repository, " in metadata and "License-Expression: MIT" in metadata
    assert "Classifier: Programming Language :: Python :: 3.13" in metadata
    assert "Description-Content-Type: text/markdown" in metadata

    ran = subprocess.run(
        [uv(), "tool", "run", "--from", str(wheel), "cs-mcp", "tools"],  # what `uvx --from WHEEL` runs
        capture_output=True,
        text=True,
        timeout=300,
        env=uv_environment(UV_TOOL_DIR=str(tmp_path / "tools")),
        cwd=tmp_path,  # not the checkout: the wheel's own files must be enough
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.rstrip().endswith(
        f"{tool_count('viewer')} tools for role viewer; * = needs confirmation"
    )


def another_python() -> str:
    """A Python the bundle supports, of another minor version than the one running the tests."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for minor in (13, 12, 14):
        if minor == sys.version_info.minor:
            continue
        candidates = [
            shutil.which(f"python3.{minor}"),
            *sorted(glob.glob(str(pyenv / f"versions/3.{minor}*/bin/python3.{minor}"))),
        ]
        for candidate in filter(None, candidates):
            if subprocess.run([candidate, "-c", "import ssl"], capture_output=True).returncode == 0:
                return candidate
    pytest.fail(
        "no Python 3.12 or 3.13 to serve the bundle with: install one (pyenv, or python3.13 on Debian 13)"
    )


@pytest.mark.node
@pytest.mark.anyio
async def test_the_bundle_serves_on_another_python_version(tmp_path: Path) -> None:
    ensure_node_tools([MCPB])
    bundle = tmp_path / "cs-mcp.mcpb"
    built = subprocess.run(
        ["bash", str(ROOT / ".ci/build-mcpb"), str(bundle)], capture_output=True, text=True, timeout=300
    )
    assert built.returncode == 0, built.stderr
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        archive.extractall(unpacked)
    assert "pyproject.toml" in names and "cs_mcp/__main__.py" in names
    assert not [n for n in names if n.endswith((".pyc", ".so", ".pyd")) or "__pycache__" in n]

    # What Claude Desktop runs: mcp_config with its placeholders filled in, and its own uv.
    config = json.loads((unpacked / "manifest.json").read_text(encoding="utf-8"))["server"]["mcp_config"]
    values = {
        "${__dirname}": str(unpacked),
        "${user_config.role}": "manager",
        "${user_config.sandbox}": "true",
    }
    values["${user_config.api_key}"] = ""

    def fill(text: str) -> str:
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        return text

    python = another_python()
    server = StdioServerParameters(
        command=uv(),
        args=[fill(arg) for arg in config["args"]],
        env=uv_environment(UV_PYTHON=python, **{k: fill(v) for k, v in config["env"].items()}),
    )
    async with Client(server) as client:  # type: ignore[arg-type]
        tools = await client.list_tools()
    assert len(tools.tools) == tool_count(
        "manager"
    )  # the manager's catalogue, from the sandbox the user chose

    used = (unpacked / ".venv/pyvenv.cfg").read_text(encoding="utf-8")
    minor = re.search(r"version_info = 3\.(\d+)", used)
    assert minor and int(minor.group(1)) != sys.version_info.minor, used
