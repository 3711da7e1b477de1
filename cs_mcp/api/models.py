"""The API objects the resource layer types: those several modules read, and the acknowledgements it
completes when the API answers a deletion with 204 No Content.

The toolsets re-export the ones their tools return (`Number` is get_number's output), so they live
here, below both, and no import runs back up from the API layer into a toolset.
"""

from __future__ import annotations

from typing import Any

from cs_mcp.models import ApiObject, LazyModel


class Number(ApiObject):
    id: str
    phone_number: str
    name: str | None = None
    status: str | None = None
    type: str | None = None
    call_flow_id: str | None = None
    call_flow_name: str | None = None
    number_source: str | None = None
    total_calls: int | None = None
    sms_enabled: bool | None = None
    tcr_sw_state: str | None = None
    created_at: str | None = None


class Released(ApiObject):
    released: bool
    id: str


class Deleted(ApiObject):
    deleted: bool | None = None
    id: str | None = None


# The API's acknowledgement of a deletion (its exact shape is not documented).
class Removed(ApiObject):
    id: str | None = None
    deleted: bool | None = None
    removed: bool | None = None


class CallFlow(LazyModel):
    """A call flow in the one shape cs_mcp works with, whichever of the documented two the API sent
    (see cs_mcp/api/call_flows.py): the editor's `config_json` and its `config_version`."""

    id: str
    name: str | None = None
    config_json: dict[str, Any] | None = None
    config_version: int | None = None
    number_count: int | None = None

    @property
    def config(self) -> dict[str, Any]:
        return self.config_json or {}
