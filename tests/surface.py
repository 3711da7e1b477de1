"""The tool surface as SPEC.md's catalogue table fixes it: the one place tests take tool names and counts from.

tests/snapshots/catalogue.md holds that table (toolset | the tools a viewer sees | those a manager adds,
`*` = needs confirmation) as `python -m cs_mcp.tools_table --spec` renders it. tests/test_catalogue.py pins it
against the catalogue like any tool snapshot, so adding, moving or dropping a tool is one reviewed row in a
refreshed file, and every count below follows without another edit.
"""

from __future__ import annotations

from pathlib import Path

from cs_mcp.spec import ALWAYS, Role
from cs_mcp.tools_table import spec_table
from tests.toolsnaps import updating

TABLE = Path(__file__).parent / "snapshots" / "catalogue.md"


def parse(table: str) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """toolset -> (the tools a viewer sees, the tools a manager adds), names as written (`*` kept)."""
    rows: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for line in table.strip().splitlines()[2:]:  # past the header and its rule
        toolset, viewer, manager = (cell.strip() for cell in line.strip().strip("|").split("|"))
        rows[toolset] = (
            tuple(viewer.split(", ")) if viewer else (),
            tuple(manager.split(", ")) if manager else (),
        )
    return rows


# While refreshing, or with the table missing, the catalogue's own: the pin test in tests/test_catalogue.py is
# writing it (or, missing in CI, failing), so one refresh run passes rather than checking the old table.
SPEC_TABLE = parse(spec_table() if updating() or not TABLE.exists() else TABLE.read_text(encoding="utf-8"))
TOOLSET_OF = {name.rstrip("*"): toolset for toolset, (v, m) in SPEC_TABLE.items() for name in (*v, *m)}
VIEWER = frozenset(name.rstrip("*") for viewer, _ in SPEC_TABLE.values() for name in viewer)
MANAGER = frozenset(TOOLSET_OF)
CONFIRMED = frozenset(
    name.rstrip("*") for v, m in SPEC_TABLE.values() for name in (*v, *m) if name.endswith("*")
)


def tools_for(role: str | Role) -> frozenset[str]:
    """What `tools/list` shows a role with every toolset on: a viewer the first column, others both."""
    role = Role.parse(role) if isinstance(role, str) else role
    return VIEWER if role == Role.VIEWER else MANAGER


def tool_count(role: str | Role) -> int:
    return len(tools_for(role))


def in_toolsets(*toolsets: str) -> frozenset[str]:
    """The tools of these toolsets, plus the one every server lists."""
    return frozenset(name for name, toolset in TOOLSET_OF.items() if toolset in (*toolsets, ALWAYS))
