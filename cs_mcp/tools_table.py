"""`cs-mcp tools`, the README's tool table and SPEC.md's catalogue table, all printed from the catalogue."""

from __future__ import annotations

import sys
from pathlib import Path

from cs_mcp import catalogue
from cs_mcp.config import Settings
from cs_mcp.spec import ALWAYS, TOOLSETS, Role

TABLE_HEADER = "| tool | toolset | least role | guardrail | endpoint |"
SPEC_TABLE_HEADER = "| toolset | viewer | manager (and admin, owner) |"


def tool_rows(settings: Settings) -> list[dict[str, object]]:
    return [
        {
            "name": spec.name,
            "toolset": spec.toolset,
            "role": spec.role.label,
            "guardrail": spec.guardrail,
            "confirm": spec.confirmed,
            "endpoint": spec.endpoint,
        }
        for spec in catalogue.visible(settings)
    ]


def print_tools(settings: Settings) -> None:
    """`cs-mcp tools`: one line a tool (`--json` is tool_help's, with each input schema)."""
    rows = tool_rows(settings)
    width = max(len(str(r["name"])) for r in rows)
    for row in rows:
        flag = "*" if row["confirm"] else " "
        print(f"{row['name']:<{width}} {flag} {row['toolset']:<14} {row['role']:<8} {row['endpoint']}")
    print(f"\n{len(rows)} tools for role {settings.role.label}; * = needs confirmation")


def markdown_table() -> str:
    """The README's catalogue table (a test keeps the README in step with it)."""
    lines = [TABLE_HEADER, "|---|---|---|---|---|"]
    for spec in catalogue.load():
        name = f"{spec.name}*" if spec.confirmed else spec.name
        lines.append(f"| {name} | {spec.toolset} | {spec.role.label} | {spec.guardrail} | {spec.endpoint} |")
    return "\n".join(lines)


def spec_table() -> str:
    """SPEC.md's catalogue table: per toolset, the tools a viewer sees and those a manager adds.

    The tests pin it (tests/snapshots/catalogue.md) and take every tool name and count from it; after a
    reviewed change, paste it into SPEC.md too.
    """
    columns: dict[str, dict[Role, list[str]]] = {
        toolset: {Role.VIEWER: [], Role.MANAGER: []} for toolset in (*TOOLSETS, ALWAYS)
    }
    for spec in catalogue.load():
        if spec.role not in (Role.VIEWER, Role.MANAGER):
            raise ValueError(f"{spec.name}: SPEC.md's table has no column for the {spec.role.label} role")
        columns[spec.toolset][spec.role].append(f"{spec.name}*" if spec.confirmed else spec.name)
    lines = [SPEC_TABLE_HEADER, "|---|---|---|"]
    for toolset, tools in columns.items():
        cells = [toolset, ", ".join(tools[Role.VIEWER]), ", ".join(tools[Role.MANAGER])]
        lines.append("|" + "|".join(f" {cell} " if cell else " " for cell in cells) + "|")
    return "\n".join(lines)


def write_readme(readme: Path) -> bool:
    """Replace the README's catalogue table with the current one; whether anything changed."""
    text = readme.read_text(encoding="utf-8")
    start = text.index(TABLE_HEADER)
    end = text.find("\n\n", start)
    end = len(text) if end == -1 else end
    updated = text[:start] + markdown_table() + text[end:]
    if updated != text:
        readme.write_text(updated, encoding="utf-8")
    return updated != text


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    if args == ["--write"]:
        readme = Path(__file__).resolve().parent.parent / "README.md"
        print("README.md updated" if write_readme(readme) else "README.md already current")
        return
    if args not in ([], ["--spec"]):
        sys.exit("usage: python -m cs_mcp.tools_table [--write | --spec]")
    try:
        print(spec_table() if args == ["--spec"] else markdown_table())
    except BrokenPipeError:  # `| head` closed the pipe: not an error
        sys.stderr.close()


if __name__ == "__main__":
    main()
