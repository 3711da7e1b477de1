"""Committed snapshot files of the tool surface, kept the way GitHub's MCP server keeps its toolsnaps.

A snapshot that differs from what the code produces fails, with the diff. A missing one is written on a
local run (a new tool's first run writes its file, to be reviewed and committed) but fails in CI (`CI`
set), so a surface nobody committed cannot pass there. After a reviewed change,
`CS_MCP_UPDATE_SNAPSHOTS=1` rewrites every snapshot and removes those of tools that are gone.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFRESH = "CS_MCP_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_catalogue.py"


def updating() -> bool:
    return os.environ.get("CS_MCP_UPDATE_SNAPSHOTS") == "1"


def in_ci() -> bool:
    # CI services set CI=true (GitHub Actions, GitLab, ...); an explicit CI=false or 0 is a local run.
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def check(path: Path, text: str) -> None:
    """Fail unless the committed snapshot at `path` is exactly `text` (writing it where the rules allow)."""
    name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    if updating() or (not path.exists() and not in_ci()):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"no committed snapshot {name}: run `{REFRESH}` locally, review it and commit it")
    committed = path.read_text(encoding="utf-8")
    if committed != text:
        diff = difflib.unified_diff(
            committed.splitlines(keepends=True), text.splitlines(keepends=True), f"{name} (committed)", "now"
        )
        pytest.fail(f"{name} changed; if the change is meant, refresh with `{REFRESH}`:\n{''.join(diff)}")


def check_no_strays(directory: Path, names: Iterable[str]) -> None:
    """Fail on snapshot files in `directory` for names no longer produced (removed while updating)."""
    produced = set(names)
    strays = sorted(p for p in directory.glob("*.json") if p.stem not in produced)
    if strays and updating():
        for path in strays:
            path.unlink()
    elif strays:
        pytest.fail(f"snapshots of tools that are gone: {[p.name for p in strays]}; refresh with `{REFRESH}`")
