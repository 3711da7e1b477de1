"""The tables generated for people: `cs-mcp tools`, docs/tools.md's tool table and SPEC.md's catalogue table
(from the catalogue), and docs/configuration.md's options table (from config.OPTIONS).

`python -m cs_mcp.tools_table --write` rewrites both docs tables in place; tests fail when either is stale."""

from __future__ import annotations

import sys
from pathlib import Path

from cs_mcp import catalogue
from cs_mcp.config import OPTIONS, Option, Settings
from cs_mcp.spec import ALWAYS, TOOLSETS, Role

TABLE_HEADER = "| tool | toolset | least role | guardrail | endpoint |"
SPEC_TABLE_HEADER = "| toolset | viewer | manager (and admin, owner) |"
OPTIONS_TABLE_HEADER = "| option | environment | commands | default | what it does |"
DOCS = Path(__file__).resolve().parent.parent / "docs"


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
    """docs/tools.md's catalogue table (a test keeps the page in step with it)."""
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


def options_table() -> str:
    """docs/configuration.md's table: every row of config.OPTIONS, as `--help` describes it."""
    lines = [OPTIONS_TABLE_HEADER, "|---|---|---|---|---|"]
    for option in OPTIONS:
        cells = (
            _spelling(option),
            f"`{option.env}{'=1' if option.switch else ''}`" if option.env else "",
            ", ".join(sorted(option.commands)),
            option.shown_default,
            _what(option),
        )
        lines.append("| " + " | ".join(_markdown_cell(cell) for cell in cells) + " |")
    return "\n".join(lines)


def _markdown_cell(text: str) -> str:
    """Text as one table cell: `|` would end the cell, `<role>` would be read as HTML, `*` as emphasis."""
    if text.startswith("`"):
        return text.replace("|", "\\|")
    return text.replace("|", "\\|").replace("<", "&lt;").replace("*", "\\*")


def _spelling(option: Option) -> str:
    if not option.flag:
        return "(environment only)"
    if option.switch:
        return f"`{option.option_string}`"
    value = "|".join(option.choices) if option.choices else option.metavar or option.name.upper()
    return f"`{option.option_string} {value}`"


def _what(option: Option) -> str:
    notes = [f"{option.bounds[0]}-{option.bounds[1]}"] if option.bounds else []
    notes += ["repeatable"] if option.repeat else []
    notes += ["never shown in messages"] if option.secret else []
    return option.help + (f" ({'; '.join(notes)})" if notes else "")


def write_table(page: Path, header: str, table: str) -> bool:
    """Replace the table that starts with `header` in `page` (up to the next blank line) with `table`;
    whether anything changed."""
    text = page.read_text(encoding="utf-8")
    start = text.index(header)
    end = text.find("\n\n", start)
    end = len(text) if end == -1 else end
    updated = text[:start] + table + text[end:]
    if updated != text:
        page.write_text(updated, encoding="utf-8")
    return updated != text


GENERATED_TABLES = (
    ("tools.md", TABLE_HEADER, markdown_table),
    ("configuration.md", OPTIONS_TABLE_HEADER, options_table),
)


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    if args == ["--write"]:
        for name, header, table in GENERATED_TABLES:
            changed = write_table(DOCS / name, header, table())
            print(f"docs/{name} {'updated' if changed else 'already current'}")
        return
    if args not in ([], ["--spec"]):
        sys.exit("usage: python -m cs_mcp.tools_table [--write | --spec]")
    try:
        print(spec_table() if args == ["--spec"] else markdown_table())
    except BrokenPipeError:  # `| head` closed the pipe: not an error
        sys.stderr.close()


if __name__ == "__main__":
    main()
