"""cs_mcp.flows: the config model, outline, paths and diffs, on a flow with every step type."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from cs_mcp import flows

CONFIG: dict[str, Any] = {
    "steps": [
        {"type": "greeting", "message": "Thanks for calling Acme. Calls may be recorded."},
        {
            "type": "schedule",
            "timezone": "America/New_York",
            "windows": [
                {
                    "days": ["mon", "tue", "wed", "thu", "fri"],
                    "start": "08:00",
                    "end": "17:00",
                    "steps": [
                        {
                            "type": "ivr",
                            "prompt": "Press 1 for sales, 2 for service",
                            "timeout_seconds": 8,
                            "options": {
                                "1": {
                                    "label": "Sales",
                                    "steps": [
                                        {
                                            "type": "forward",
                                            "destination": "+18135550001",
                                            "timeout_seconds": 20,
                                        }
                                    ],
                                },
                                "2": {
                                    "label": "Service",
                                    "steps": [
                                        {
                                            "type": "multi_ring",
                                            "destinations": ["+18135550002", "+18135550003"],
                                        }
                                    ],
                                },
                            },
                        }
                    ],
                },
                {
                    "days": ["sat"],
                    "start": "09:00",
                    "end": "12:00",
                    "steps": [{"type": "round_robin", "destinations": ["+18135550004", "+18135550005"]}],
                },
            ],
            "closed_steps": [
                {
                    "type": "voicemail",
                    "greeting": "We are closed",
                    "max_length_seconds": 120,
                    "transcribe": True,
                }
            ],
        },
        {"type": "webhook", "url": "https://crm.example/hook"},
        {
            "type": "zip_code",
            "routes": [
                {"match": ["33101", "33102"], "steps": [{"type": "forward", "destination": "+13055550000"}]}
            ],
            "default_steps": [{"type": "forward", "destination": "+18135550001"}],
        },
        {
            "type": "tag_route",
            "routes": [{"match": ["vip"], "steps": [{"type": "forward", "destination": "+15125550187"}]}],
        },
    ],
    "settings": {"recording": True, "whisper": "Acme line"},
}
NUMBERS = ["+18135550001", "+18135550002", "+18135550003", "+18135550004", "+18135550005", "+13055550000"]


def test_outline_shows_every_step_kind_with_what_matters() -> None:
    shape = flows.outline(CONFIG)
    text = shape.text
    for fact in (
        '"Thanks for calling Acme. Calls may be recorded."',
        'options.1 "Sales"',
        'options.2 "Service"',
        "windows[0] mon-fri 08:00-17:00",
        "windows[1] sat 09:00-12:00",
        "closed_steps:",
        "zip 33101,33102",
        "tag vip",
        "default_steps:",
        "+18135550001 20s",
        "max 120s transcribed",
        "webhook (deprecated: skipped",
        "settings recording on",
    ):
        assert fact in text, fact
    assert {*NUMBERS, "+15125550187"} == set(shape.destinations)
    assert shape.step_counts["forward"] == 4 and shape.step_counts["ivr"] == 1
    assert sum(shape.step_counts.values()) == 13
    assert shape.max_depth == 3


def test_every_outline_label_path_resolves_to_that_step() -> None:
    """Joining the labels of a line and its ancestors gives a path that opens that very step."""
    lines = flows.outline({"steps": CONFIG["steps"]}).text.splitlines()
    stack: list[tuple[int, str]] = []
    opened = 0
    for line in lines:
        indent = len(line) - len(line.lstrip())
        label = line.split()[0].rstrip(":")
        stack = [(i, lab) for i, lab in stack if i < indent]
        stack.append((indent, label))
        if label.startswith(("steps[", "[")):
            path = ".".join(lab for _, lab in stack).replace(".[", "[")
            step = flows.resolve(CONFIG, path)
            assert flows.describe(step) in line
            opened += 1
    assert opened == 13


@pytest.mark.parametrize("max_depth", [None, 1, 2, 3])
def test_outline_counts_what_walking_the_tree_finds_at_any_fold(max_depth: int | None) -> None:
    """The outline's one pass agrees with `walk` and `destinations`: every step counted, every number
    listed in the walk's order, the depth of the whole tree, and the folded steps those below the cut."""
    shape = flows.outline(CONFIG, max_depth=max_depth)
    nodes = list(flows.walk(CONFIG["steps"]))
    assert shape.destinations == flows.destinations(CONFIG)
    assert sum(shape.step_counts.values()) == len(nodes)
    assert shape.max_depth == max(node.depth for node in nodes)
    assert shape.folded == sum(1 for node in nodes if max_depth is not None and node.depth > max_depth)


def test_folded_outline_still_names_every_destination() -> None:
    folded = flows.outline(CONFIG, max_depth=1)
    assert folded.folded > 0
    assert "+18135550002" in folded.text and "steps to" in folded.text
    for number in NUMBERS:
        assert number in folded.text
    assert len(folded.text) < len(flows.outline(CONFIG).text)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("steps[1].windows[0][0].options.2[0]", {"type": "multi_ring"}),
        ("steps[1].windows.0.steps.0.options.2.steps.0", {"type": "multi_ring"}),
        ("/steps/3/default_steps/0", {"destination": "+18135550001"}),
        ("steps[1].closed_steps[0]", {"type": "voicemail"}),
    ],
)
def test_paths(path: str, expected: dict[str, Any]) -> None:
    part = flows.resolve(CONFIG, path)
    assert expected.items() <= part.items()


def test_bad_path_says_what_is_there() -> None:
    with pytest.raises(flows.PathError, match="holds type, timezone, windows, closed_steps"):
        flows.resolve(CONFIG, "steps[1].options")
    with pytest.raises(flows.PathError, match="index 0-4"):
        flows.resolve(CONFIG, "steps[9]")


def test_diff_reports_insertions_edits_and_removals_by_path() -> None:
    new = copy.deepcopy(CONFIG)
    ivr = new["steps"][1]["windows"][0]["steps"][0]
    ivr["options"]["2"]["steps"][0]["destinations"].append("+18135550009")
    ivr["options"]["3"] = {"label": "Billing", "steps": [{"type": "voicemail"}]}
    new["steps"][1]["windows"][1]["end"] = "13:00"
    del new["steps"][2]  # the webhook
    new["settings"]["recording"] = False
    changes = flows.diff(CONFIG, new)
    assert changes == [
        "~ settings: {'recording': True, 'whisper': 'Acme line'} -> {'recording': False, 'whisper': 'Acme line'}",
        "~ steps[1].windows[0][0].options.2[0].destinations: [+18135550002, +18135550003] -> "
        "[+18135550002, +18135550003, +18135550009]",
        '+ steps[1].windows[0][0].options.3 "Billing" (1 steps)',
        "~ steps[1].windows[1]: sat 09:00-12:00 -> sat 09:00-13:00",
        "- steps[2] webhook (deprecated: skipped when a call runs)",
    ]
    assert flows.diff(CONFIG, copy.deepcopy(CONFIG)) == []


def test_diff_of_a_replaced_step_names_both() -> None:
    new = copy.deepcopy(CONFIG)
    new["steps"][0] = {"type": "forward", "destination": "+18135550001"}
    assert (
        flows.diff(CONFIG, new)[0].startswith('~ steps[0]: greeting "Thanks')
        and "forward +1813" in (flows.diff(CONFIG, new)[0])
    )


def test_model_accepts_the_full_config() -> None:
    assert (
        flows.FlowConfig.model_validate(CONFIG).model_dump(exclude_none=True)["steps"][0]["type"]
        == "greeting"
    )


@pytest.mark.parametrize(
    ("config", "complaint"),
    [
        ({"steps": [{"type": "forward", "destination": "813-555"}]}, "steps.0.forward.destination"),
        (
            {"steps": [{"type": "ivr", "options": {"12": {"label": "x", "steps": []}}}]},
            "steps.0.ivr.options.12.[key]",
        ),
        ({"steps": [{"type": "ivr", "options": {"1": {"steps": []}}}]}, "options.1.label"),
        ({"steps": [{"type": "telepathy"}]}, "does not match any of the expected tags"),
        ({"steps": [{"type": "forward", "destinaton": "+18135550001"}]}, "destinaton"),
        (
            {
                "steps": [
                    {
                        "type": "schedule",
                        "windows": [{"days": ["mon"], "start": "18:00", "end": "08:00", "steps": []}],
                    }
                ]
            },
            "must be before end",
        ),
        (
            {
                "steps": [
                    {
                        "type": "schedule",
                        "windows": [{"days": ["monday"], "start": "08:00", "end": "09:00", "steps": []}],
                    }
                ]
            },
            "days.0",
        ),
        (
            {"steps": [{"type": "multi_ring", "destinations": [f"+1813555{i:04d}" for i in range(11)]}]},
            "at most 10",
        ),
        ({"steps": [{"type": "zip_code", "routes": [{"match": [], "steps": []}]}]}, "routes.0.match"),
        ({"steps": []}, "at least 1"),
        (
            {
                "steps": [
                    {
                        "type": "ivr",
                        "options": {"1": {"label": "x", "steps": [{"type": "forward", "destination": "5"}]}},
                    }
                ]
            },
            "options.1.steps.0.forward.destination",
        ),
    ],
)
def test_model_refuses_bad_configs(config: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValidationError) as caught:
        flows.FlowConfig.model_validate(config)
    assert complaint in str(caught.value)
