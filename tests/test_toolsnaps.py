"""The snapshot rules cannot be got around: CI never writes what it checks, and a change never passes unseen."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import toolsnaps

SNAPSHOT = '{\n "name": "list_calls"\n}\n'


def run_as(monkeypatch: pytest.MonkeyPatch, *, ci: str = "", update: bool = False) -> None:
    """The environment of a run: CI's variable as a CI service sets it, and whether it refreshes."""
    monkeypatch.setenv("CI", ci)
    monkeypatch.setenv("CS_MCP_UPDATE_SNAPSHOTS", "1" if update else "")


def test_a_new_tool_snapshot_is_written_on_a_local_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_as(monkeypatch)
    path = tmp_path / "tools" / "list_calls.json"
    toolsnaps.check(path, SNAPSHOT)
    assert path.read_text() == SNAPSHOT
    toolsnaps.check(path, SNAPSHOT)  # and from then on it is checked


@pytest.mark.parametrize("ci", ["true", "1"])
def test_ci_fails_on_a_missing_snapshot_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    run_as(monkeypatch, ci=ci)
    path = tmp_path / "list_calls.json"
    with pytest.raises(pytest.fail.Exception, match="no committed snapshot"):
        toolsnaps.check(path, SNAPSHOT)
    assert not path.exists()


@pytest.mark.parametrize("ci", ["", "false", "0", "true"])
def test_a_changed_surface_fails_everywhere_and_the_snapshot_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    run_as(monkeypatch, ci=ci)
    path = tmp_path / "list_calls.json"
    path.write_text(SNAPSHOT)
    changed = SNAPSHOT.replace("list_calls", "list_all_calls")
    with pytest.raises(pytest.fail.Exception, match=r'(?s)changed.*-.*"list_calls".*\+.*"list_all_calls"'):
        toolsnaps.check(path, changed)
    assert path.read_text() == SNAPSHOT


def test_refreshing_rewrites_the_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_as(monkeypatch, ci="true", update=True)
    path = tmp_path / "list_calls.json"
    path.write_text(SNAPSHOT)
    toolsnaps.check(path, "{}\n")
    assert path.read_text() == "{}\n"


def test_a_snapshot_of_a_tool_that_is_gone_fails_until_refreshed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_as(monkeypatch)
    for name in ("list_calls", "get_call"):
        (tmp_path / f"{name}.json").write_text("{}\n")
    toolsnaps.check_no_strays(tmp_path, ["list_calls", "get_call"])
    with pytest.raises(pytest.fail.Exception, match=r"get_call\.json"):
        toolsnaps.check_no_strays(tmp_path, ["list_calls"])
    assert (tmp_path / "get_call.json").exists()
    run_as(monkeypatch, update=True)
    toolsnaps.check_no_strays(tmp_path, ["list_calls"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["list_calls.json"]
