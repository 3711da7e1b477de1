"""The sandbox's shape: a sub-package without import cycles, routes beside their handlers, pinned data."""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

import cs_mcp.sandbox
from cs_mcp.sandbox import ENDPOINTS, Sandbox
from cs_mcp.sandbox.resources import RESOURCES

PACKAGE = "cs_mcp.sandbox"
ROOT = Path(cs_mcp.sandbox.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join((PACKAGE, *parts)).removesuffix(".__init__")


def imports_of(path: Path) -> set[str]:
    """Every cs_mcp module this file imports, at any depth (lazy and TYPE_CHECKING imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)  # a submodule by name
    return {name for name in found if name.split(".")[0] == "cs_mcp"}


MODULES = {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}
GRAPH = {name: {i for i in imports_of(path) if i in MODULES and i != name} for name, path in MODULES.items()}


def test_the_import_graph_has_no_cycle() -> None:
    try:
        tuple(TopologicalSorter(GRAPH).static_order())
    except CycleError as error:
        pytest.fail(f"import cycle: {' -> '.join(error.args[1])}")


def test_modules_import_nothing_of_cs_mcp_outside_the_sandbox() -> None:
    outside = {
        name: sorted(i for i in imports_of(path) if not i.startswith(PACKAGE))
        for name, path in MODULES.items()
    }
    assert {name: found for name, found in outside.items() if found} == {}


def test_no_module_imports_the_package_itself() -> None:
    """The package's __init__ only re-exports: a module importing it would close a cycle through it."""
    assert [name for name, imported in GRAPH.items() if PACKAGE in imported] == []


def test_each_route_is_declared_beside_its_handler() -> None:
    """Adding an endpoint touches one resource module: the table that routes it holds the handler too."""
    for resource in RESOURCES:
        for endpoint in resource.routes.endpoints:
            assert endpoint.handler.__module__ == resource.__name__, endpoint
    assert sum(len(r.routes.endpoints) for r in RESOURCES) == len(ENDPOINTS)


def test_only_gets_and_the_number_search_leave_state_alone() -> None:
    reads = {(e.method, e.path) for e in ENDPOINTS if not e.changes_state}
    assert {m for m, _ in reads} == {"GET", "POST"}
    assert {p for m, p in reads if m == "POST"} == {"/numbers/search"}


# What the data gained with the docs of 2026-12-01: call fields, and records drawn from a second stream.
ADDED_CALL_FIELDS = frozenset(
    {"caller_city", "caller_state", "has_recording", "gclid", "landing_page_url", "robo_risk_score"}
)


def records(sandbox: Sandbox, key: str) -> list[dict[str, object]]:
    """The state's records under `key` (calls with their summary and transcription)."""
    value = sandbox.state[key]  # type: ignore[literal-required]
    return [value.detail(row) for row in value.rows] if key == "calls" else value


def before_the_additions(sandbox: Sandbox, key: str) -> list[dict[str, object]]:
    """The records as they were before 2026-12-01: without the added fields and records."""
    items = records(sandbox, key)
    if key == "calls":
        return [{k: v for k, v in call.items() if k not in ADDED_CALL_FIELDS} for call in items]
    if key == "call_flows":
        return [flow for flow in items if not str(flow["name"]).startswith("Pay-Per-Call Auction")]
    if key == "webhook_deliveries":
        return [delivery for delivery in items if delivery["event"] == "call.completed"]
    return items


def digest(sandbox: Sandbox, view: Callable[[Sandbox, str], list[dict[str, object]]] = records) -> str:
    """A hash of every seeded record as `view` shows it, key order included."""
    h = hashlib.sha256()
    for key in sandbox.state:
        h.update(key.encode())
        h.update(json.dumps(view(sandbox, key), ensure_ascii=False).encode())
    return h.hexdigest()


@pytest.mark.parametrize(
    ("scale", "expected"),
    [
        (1, "c4ea5b9871bf53fb45afc43880866e479ad2cc37b1d36b519f60d6f9e0e0e56b"),
        (3, "3d17a7ca2b36c0050bb5284134193781b50628461298952fd5b5438f9170faa2"),
    ],
)
def test_seeded_data_does_not_drift(scale: int, expected: str) -> None:
    """Re-pinned when calls gained the webhook payload's fields and the auction flow and the other
    webhook events were added (2026-12-01); a change to the data must change this."""
    assert digest(Sandbox(scale=scale, now=datetime(2026, 3, 1, tzinfo=UTC))) == expected


@pytest.mark.parametrize(
    ("scale", "expected"),
    [
        (1, "c9270bbfd7682f60ff3029b8c2aae86a999b8ee360918c64c2b61c673609d9bd"),
        (3, "09607e22ee7f3f8ce96534e83b6d0bae08aa308bfd412c2d3e820f170c124276"),
    ],
)
def test_the_additions_left_every_earlier_value_as_it_was(scale: int, expected: str) -> None:
    """The pins from before 2026-12-01, over the data without what was added then: every id, name, count
    and value the tools and tests rely on is unchanged (the additions come from their own random stream)."""
    sandbox = Sandbox(scale=scale, now=datetime(2026, 3, 1, tzinfo=UTC))
    assert digest(sandbox, before_the_additions) == expected
