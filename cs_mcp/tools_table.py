"""`cs-mcp tools` and the README's tool table, both printed from the catalogue."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cs_mcp import catalogue
from cs_mcp.config import Settings

TABLE_HEADER = "| tool | toolset | least role | guardrail | endpoint |"


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


def print_tools(settings: Settings, *, as_json: bool) -> None:
    rows = tool_rows(settings)
    if as_json:
        print(json.dumps({"role": settings.role.label, "count": len(rows), "tools": rows}, indent=2))
        return
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
    try:
        print(markdown_table())
    except BrokenPipeError:  # `| head` closed the pipe: not an error
        sys.stderr.close()


if __name__ == "__main__":
    main()
