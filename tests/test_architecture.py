"""The house: no import cycles, every module importable alone, and a catalogue checked at start.

A mistake in tool_specs/ or a toolset's TOOLS table must stop `cs-mcp serve` at start with one line
naming the spec, never reach a user as "Error executing tool".
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cs_mcp
from cs_mcp import catalogue

PACKAGE = Path(cs_mcp.__file__).parent
ROOT = PACKAGE.parent


def module_names() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def runtime_imports(module: str, known: set[str]) -> set[str]:
    """The cs_mcp modules `module` imports when it runs (at any depth, but not for type checking)."""
    path = PACKAGE.parent / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = PACKAGE.parent / module.replace(".", "/") / "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _type_checking_block(node):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("cs_mcp"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cs_mcp"):
            for alias in node.names:  # `from cs_mcp import handlers` imports the module cs_mcp.handlers
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in known else node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(module)
    # Importing a module runs its packages' __init__ first; those edges are not the module's own.
    return {name for name in found if not module.startswith(name + ".")}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []
    state: dict[str, str] = {}

    def walk(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for child in sorted(graph.get(node, ())):
            if state.get(child) == "open":
                cycles.append([*stack[stack.index(child) :], child])
            elif child not in state:
                walk(child, [*stack, child])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
    return cycles


def test_no_import_cycles() -> None:
    known = set(module_names())
    graph = {module: runtime_imports(module, known) & known for module in known}
    cycles = find_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_the_cycle_check_can_fail() -> None:
    """Lazy imports count (only TYPE_CHECKING ones do not), and a cycle through them is found."""
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
    assert "cs_mcp.runner" in runtime_imports("cs_mcp.server", set(module_names()))


def test_spec_is_a_leaf() -> None:
    assert runtime_imports("cs_mcp.spec", set(module_names())) == set()


ISOLATED_IMPORTS = """
import importlib, json, sys, traceback
failures = {}
for module in sys.argv[1:]:
    for name in [m for m in sys.modules if m == "cs_mcp" or m.startswith("cs_mcp.")]:
        del sys.modules[name]
    try:
        importlib.import_module(module)
    except Exception:
        failures[module] = traceback.format_exc().strip().splitlines()[-1]
print(json.dumps(failures))
"""


def test_every_module_imports_on_its_own() -> None:
    """Each module imported with none of cs_mcp loaded before it (third-party packages stay cached, which
    keeps this fast): an import that works only after another module is a hidden cycle."""
    modules = [m for m in module_names() if m != "cs_mcp.__main__"]  # __main__ runs the CLI
    done = subprocess.run(
        [sys.executable, "-c", ISOLATED_IMPORTS, *modules], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {}


# --- the catalogue refuses to start on a mistake -------------------------------------------------------


@pytest.fixture
def specs_copy(tmp_path: Path) -> Path:
    target = tmp_path / "tool_specs"
    shutil.copytree(ROOT / "tool_specs", target)
    return target


def serve_with(specs: Path) -> subprocess.CompletedProcess[str]:
    """`cs-mcp serve --sandbox` with the catalogue read from `specs`."""
    code = (
        "import sys, pathlib; from cs_mcp import catalogue; "
        f"catalogue._SPEC_DIRS = (pathlib.Path({str(specs)!r}),); "
        "from cs_mcp.cli import main; sys.exit(main(['serve', '--sandbox']))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


@pytest.mark.parametrize(
    ("file", "old", "new", "named"),
    [
        ("numbers.toml", 'input = "GetNumber"', 'input = "GetNumbr"', "GetNumbr"),
        ("numbers.toml", "GET /numbers/{number_id}/stats", "GET /numbers/{numbr_id}/stats", "numbr_id"),
        ("numbers.toml", 'count_by = ["status"', 'count_by = ["stauts"', "stauts"),
        ("numbers.toml", 'guardrail = "costly"', 'guardrail = "pricey"', "purchase_number"),
        ("messaging.toml", 'cap = { cap = "sms_per_hour"', 'cap = { cap = "sms_per_day"', "sms_per_day"),
        ("numbers.toml", 'name = "release_number"', 'name = "release_numbr"', "release_numbr"),
    ],
)
def test_a_spec_mistake_stops_serve_with_one_line_naming_it(
    specs_copy: Path, file: str, old: str, new: str, named: str
) -> None:
    path = specs_copy / file
    text = path.read_text()
    assert old in text, f"the fixture edit {old!r} no longer matches {file}"
    path.write_text(text.replace(old, new, 1))
    done = serve_with(specs_copy)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and "Traceback" not in done.stderr, done.stderr


def test_a_guarded_tool_without_a_preview_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from cs_mcp.spec import ToolFunctions
    from cs_mcp.toolsets import numbers

    catalogue.load.cache_clear()
    table = dict(numbers.TOOLS)
    table["release_number"] = ToolFunctions(handler=numbers.release_number)
    monkeypatch.setattr(numbers, "TOOLS", table)
    try:
        with pytest.raises(
            catalogue.CatalogueError, match="release_number: a confirmed tool needs a preview"
        ):
            catalogue.load()
    finally:
        catalogue.load.cache_clear()


def test_the_unchanged_catalogue_serves(specs_copy: Path) -> None:
    """The harness above is not what fails: the same copy, unedited, loads."""
    code = (
        "import pathlib; from cs_mcp import catalogue; "
        f"catalogue._SPEC_DIRS = (pathlib.Path({str(specs_copy)!r}),); print(len(catalogue.load()))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == str(len(catalogue.load())), done.stderr
