"""The shape of a sandbox's state: what the seed builds and the handlers read and change."""

from __future__ import annotations

from typing import Any, TypedDict

from cs_mcp.sandbox.calls import CallTable


class State(TypedDict):
    """The sandbox business. Lists are plain dicts in API order; `calls` is a sequence of call dicts.

    Internal fields the API does not show as such: `versions` on call flows (with each version's
    config_json), `number_ids` on groups and pools, `submissions` on forms.
    """

    numbers: list[dict[str, Any]]
    call_flows: list[dict[str, Any]]
    calls: CallTable
    conversations: list[dict[str, Any]]
    texts: list[dict[str, Any]]
    sms_events: list[dict[str, Any]]
    voicemails: list[dict[str, Any]]
    number_groups: list[dict[str, Any]]
    number_pools: list[dict[str, Any]]
    forms: list[dict[str, Any]]
    webhook_deliveries: list[dict[str, Any]]
