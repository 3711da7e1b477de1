"""`cs-mcp tools` and the README's tool table, both printed from the catalogue."""

from __future__ import annotations

import json

from cs_mcp import catalogue
from cs_mcp.config import Settings


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
    lines = ["| tool | toolset | least role | guardrail | endpoint |", "|---|---|---|---|---|"]
    for spec in catalogue.load():
        name = f"{spec.name}*" if spec.confirmed else spec.name
        lines.append(f"| {name} | {spec.toolset} | {spec.role.label} | {spec.guardrail} | {spec.endpoint} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
