"""Routing changes as harmful as a deletion: calls sent to a new outside number, or busy numbers moved.

A change to where calls go needs the user's word when it makes calls ring a number that is not one of
the business's own and was not rung before, or when it moves numbers that carry calls to another flow
(SPEC.md, Confirmation). Renames and other edits go through unasked. The preview shows where calls go
before and after, so the user sees exactly what changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from cs_mcp import flows
from cs_mcp.guardrails.preview import Preview

if TYPE_CHECKING:
    from cs_mcp.handlers import ToolCall

SHOWN = 6  # destinations listed in a preview line; the rest are counted


async def own_numbers(call: ToolCall) -> set[str]:
    """The business's own phone numbers (a forward to one of them keeps calls in the business)."""
    return await call.api.numbers.phones()


async def flow_destinations(call: ToolCall, flow_id: Any) -> list[str]:
    """Every number a flow can ring (empty for no flow)."""
    if not flow_id:
        return []
    return flows.destinations((await call.api.call_flows.get(flow_id)).config)


def _listed(numbers: Iterable[str]) -> str:
    numbers = list(numbers)
    if not numbers:
        return "(no phone numbers)"
    more = f" and {len(numbers) - SHOWN} more" if len(numbers) > SHOWN else ""
    return ", ".join(numbers[:SHOWN]) + more


def reroute_preview(
    action: str,
    *,
    before: list[str],
    after: list[str],
    own: set[str],
    moved_calls: int = 0,
) -> Preview:
    """The preview of a routing change; `required` when it sends calls somewhere new outside the business
    or moves numbers that carry calls (`moved_calls` > 0)."""
    new_outside = [n for n in after if n not in own and n not in before]
    details: dict[str, Any] = {
        "calls_ring_now": _listed(before),
        "calls_would_ring": _listed(after),
        "new_outside_numbers": _listed(new_outside) if new_outside else None,
        "calls_on_moved_numbers": moved_calls or None,
    }
    warnings = []
    if new_outside:
        warnings.append(f"calls would ring {_listed(new_outside)}, outside the business and not rung before")
    if moved_calls:
        warnings.append(f"numbers that have taken {moved_calls} calls move to another flow")
    return Preview(
        action=action + (f" ({'; '.join(warnings)})" if warnings else ""),
        details=details,
        required=bool(warnings),
    )
