"""Call flows: list, read as an outline (or the config, or a part of it), compare versions, and edit.

The outline, paths and diffs live in `cs_mcp.flows`; this module does the requests.

The API's version history carries metadata only (version, when, who), not old configs. To compare
versions anyway, configs are remembered per API client (so per server session) whenever this server
reads or writes a flow: a version seen here, or one brought back by a restore, can be compared; for
others the comparison says the config is not available. A version list that does carry `config_json`
is used as well, should the API ever send one.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime
from typing import Annotated, Any
from weakref import WeakKeyDictionary

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field, WithJsonSchema, model_validator

from cs_mcp import flows, handlers, routes_trace, routing
from cs_mcp.api.models import CallFlow, Deleted
from cs_mcp.budget import Measured, measure
from cs_mcp.client import CallScalerClient
from cs_mcp.errors import Conflict, NotFound
from cs_mcp.filters import Contains, Match, NonZero, Since
from cs_mcp.guardrails.preview import ConfirmedInput, Preview
from cs_mcp.handlers import ToolCall
from cs_mcp.listing import ListQuery, Page
from cs_mcp.models import ApiObject, Day, Id, LazyModel, Name, ToolInput
from cs_mcp.spec import ToolFunctions
from cs_mcp.toolsets.numbers import NumberItem, NumberPage, NumberStatus, find_number

__all__ = ["Deleted", "NumberItem", "NumberPage"]  # re-exported: the catalogue names them in this toolset

Config = Annotated[flows.FlowConfig, WithJsonSchema(flows.CONFIG_SCHEMA)]
# update_call_flow publishes the step guide once, on create_call_flow (same model validates both).
NewConfig = Annotated[
    flows.FlowConfig,
    WithJsonSchema({"type": "object", "description": "the whole new config, shaped as in create_call_flow"}),
]
Version = Annotated[int, Field(ge=1)]


class CallFlowItem(ApiObject):
    id: str | None = None
    name: str | None = None
    config_version: int | None = None
    number_count: int | None = None
    updated_at: str | None = None


CallFlowPage = Page[CallFlowItem]


class FlowVersion(ApiObject):
    version: int | None = None
    created_at: str | None = None
    created_by: str | None = None


FlowVersionPage = Page[FlowVersion]


class ListCallFlows(ListQuery):
    contains: Annotated[str | None, Field(max_length=60), Contains(("name",))] = None
    has_numbers: Annotated[bool | None, NonZero("number_count")] = None
    updated_since: Annotated[Day | None, Since("updated_at")] = None


class ListFlowNumbers(ListQuery):
    call_flow_id: Id
    status: Annotated[NumberStatus | None, Match("status")] = None


class ListFlowVersions(ListQuery):
    call_flow_id: Id


class GetCallFlow(ToolInput):
    call_flow_id: Id
    include_config: bool = False
    path: Annotated[
        str | None, Field(max_length=200, description="one part, by outline labels: steps[1].options.2[0]")
    ] = None
    compare_to: Version | None = None


class CreateCallFlow(ConfirmedInput):
    name: Name
    config_json: Config


class UpdateCallFlow(ConfirmedInput):
    call_flow_id: Id
    config_version: Annotated[Version, Field(description="the version you read (get_call_flow)")]
    name: Name | None = None
    config_json: NewConfig | None = None

    @model_validator(mode="after")
    def _something(self) -> UpdateCallFlow:
        if self.name is None and self.config_json is None:
            raise ValueError("give name, config_json or both: there is nothing to update")
        return self


class DuplicateCallFlow(ToolInput):
    call_flow_id: Id


class RestoreVersion(ToolInput):
    call_flow_id: Id
    version: Version


class DeleteCallFlow(ConfirmedInput):
    call_flow_id: Id


# A flow at a glance: the outline and the facts behind it; config or a part only when asked.
class FlowView(LazyModel):
    id: str
    name: str | None = None
    config_version: int | None = None
    number_count: int | None = None
    outline: str | None = Field(None, description="labels joined by '.' form a path")
    step_counts: dict[str, int] | None = None
    destinations: list[str] | None = None
    max_depth: int | None = None
    changes: list[str] | None = Field(None, description="+ added, - removed, ~ changed, by path")
    config_json: dict[str, Any] | None = None
    # Any JSON value the path reaches: a step, a list of steps, a setting.
    part: dict[str, Any] | list[Any] | str | int | float | bool | None = None
    note: str | None = None


# --- Configs seen in this session, for version comparisons ----------------------------------------------

_SEEN_LIMIT = 200  # versions remembered per session; the oldest seen go first
_seen: WeakKeyDictionary[CallScalerClient, OrderedDict[tuple[str, int], dict[str, Any]]] = WeakKeyDictionary()


def _remember(api: CallScalerClient, flow_id: str, version: Any, config: Any) -> None:
    if not isinstance(version, int) or not isinstance(config, dict):
        return
    seen = _seen.setdefault(api, OrderedDict())
    seen[(flow_id, version)] = config
    seen.move_to_end((flow_id, version))
    while len(seen) > _SEEN_LIMIT:
        seen.popitem(last=False)


def _recalled(api: CallScalerClient, flow_id: str, version: int) -> dict[str, Any] | None:
    seen = _seen.get(api)
    return seen.get((flow_id, version)) if seen is not None else None


# --- Requests -------------------------------------------------------------------------------------------


async def _read(call: ToolCall, flow_id: str) -> CallFlow:
    flow = await call.api.call_flows.get(flow_id)
    _remember(call.api, flow_id, flow.config_version, flow.config_json)
    return flow


async def _number_count(call: ToolCall, flow: CallFlow) -> int:
    if flow.number_count is not None:
        return flow.number_count
    return len(await call.api.call_flows.numbers(flow.id))


def view_of(
    flow: CallFlow, budget: int, *, number_count: int | None = None, changes: list[str] | None = None
) -> Measured[FlowView]:
    """The outline view of a flow, folding deeper branches (never dropping a destination) to fit."""
    config = flow.config
    view = FlowView(
        id=flow.id,
        name=flow.name,
        config_version=flow.config_version,
        number_count=number_count if number_count is not None else flow.number_count,
        changes=changes,
    )
    shape = flows.outline(config)  # unfolded first: most flows fit whole
    deepest = depth = shape.max_depth
    while True:
        view.outline, view.step_counts = shape.text, shape.step_counts
        view.destinations, view.max_depth = shape.destinations, deepest
        view.note = (
            f"branches below depth {depth} folded ({shape.folded} steps); pass path= to open one"
            if shape.folded
            else None
        )
        measured = measure(view)  # each change to the view is measured: the last measure is what is sent
        if measured.fits(budget) or depth <= 1:
            break
        depth -= 1
        shape = flows.outline(config, max_depth=depth)
    if not measured.fits(budget):
        # Even the top level is too long: keep the facts, cut the outline at a line boundary.
        lines = view.outline.splitlines() if view.outline else []
        while lines and not measured.fits(budget):
            lines = lines[: len(lines) * 3 // 4]
            view.outline = "\n".join(lines)
            view.note = (
                f"outline cut after {len(lines)} lines to fit the output budget; pass path= for the rest"
            )
            measured = measure(view)
    if view.changes and not measured.fits(budget):
        kept = list(view.changes)
        while kept and not measured.fits(budget):
            kept = kept[: len(kept) // 2]
            view.changes = [*kept, f"… {len(changes or []) - len(kept)} more changes; compare with path="]
            measured = measure(view)
    return measured


# --- Handlers -------------------------------------------------------------------------------------------


async def get_call_flow(call: ToolCall, params: GetCallFlow) -> Measured[FlowView]:
    flow_id = str(params.call_flow_id)
    flow = await _read(call, flow_id)
    budget = call.settings.max_output_tokens
    count = await _number_count(call, flow)
    changes = await _changes_since(call, flow, params.compare_to) if params.compare_to else None
    if params.path is None and not params.include_config:
        return view_of(flow, budget, number_count=count, changes=changes)
    view = FlowView(
        id=flow_id,
        name=flow.name,
        config_version=flow.config_version,
        number_count=count,
        changes=changes,
    )
    if params.path is not None:
        try:
            view.part = flows.resolve(flow.config, params.path)
        except flows.PathError as exc:
            raise ToolError(f"path {params.path!r}: {exc}. Paths join the outline's labels.") from None
        what = f"the part at {params.path}"
    else:
        view.config_json = flow.config
        what = "the whole config_json"
    measured = measure(view)
    if not measured.fits(budget):
        raise ToolError(
            f"{what} is over the {budget}-token output budget. Read the outline (no include_config), "
            "then ask for one branch with path=, e.g. path='steps[1].options.2'."
        )
    return measured


async def _changes_since(call: ToolCall, flow: CallFlow, version: int) -> list[str]:
    flow_id, current = flow.id, flow.config_version
    if version == current:
        return ["(no changes: that is the current version)"]
    old = _recalled(call.api, flow_id, version)
    if old is None:
        for entry in await call.api.call_flows.versions(flow_id):
            if entry.get("version") == version:
                old = entry.get("config_json")
                if old is None:
                    who = entry.get("created_by") or "someone"
                    return [
                        f"version {version} was saved {entry.get('created_at', '?')} by {who}; CallScaler "
                        "does not return old configs and this session has not seen it, so what changed "
                        f"cannot be shown. restore_call_flow_version {version} would bring it back."
                    ]
                break
        else:
            raise ToolError(f"call flow {flow_id} has no version {version}; see list_call_flow_versions.")
    return flows.diff(old, flow.config) or ["(no changes in config_json)"]


async def _saved(call: ToolCall, flow: CallFlow, *, before: CallFlow | None = None) -> FlowView:
    """The view of a flow the API just saved, with what changed when the previous config is known."""
    _remember(call.api, flow.id, flow.config_version, flow.config_json)
    changes = flows.diff(before.config, flow.config) if before is not None else None
    if before is not None and before.name != flow.name:
        changes = [f"~ name: {before.name} -> {flow.name}", *(changes or [])]
    return view_of(flow, call.settings.max_output_tokens, changes=changes).model


async def preview_create_call_flow(call: ToolCall, params: CreateCallFlow) -> Preview:
    config = params.config_json.model_dump(mode="json", exclude_none=True)
    return routing.reroute_preview(
        f"Create call flow {params.name!r} (no numbers route to it until update_number does)",
        before=[],
        after=flows.reach(config),
        own=await routing.own_numbers(call),
    )


async def create_call_flow(call: ToolCall, params: CreateCallFlow) -> FlowView:
    config = params.config_json.model_dump(mode="json", exclude_none=True)
    return await _saved(call, await call.api.call_flows.create(params.name, config))


def _stale(params: UpdateCallFlow, now: Any) -> str:
    return (
        f"call flow {params.call_flow_id} was changed since you read it (you sent config_version "
        f"{params.config_version}, it is now {now}); nothing was saved. Read it again with get_call_flow, redo "
        "the change on the current config and send its config_version."
    )


async def preview_update_call_flow(call: ToolCall, params: UpdateCallFlow) -> Preview:
    """A rename needs no confirmation; a new config does when it sends calls somewhere new."""
    flow = await _read(call, str(params.call_flow_id))
    if flow.config_version != params.config_version:  # asking the user about a stale edit helps no one
        raise ToolError(_stale(params, flow.config_version))
    name = flow.name or str(params.call_flow_id)
    if params.config_json is None:
        return Preview(action=f"Rename call flow {name!r} to {params.name!r}", required=False)
    count = await _number_count(call, flow)
    return routing.reroute_preview(
        f"Replace the config of call flow {name!r} ({count} number{'s' if count != 1 else ''} route to it)",
        before=flows.reach(flow.config),
        after=flows.reach(params.config_json.model_dump(mode="json", exclude_none=True)),
        own=await routing.own_numbers(call),
    )


async def update_call_flow(call: ToolCall, params: UpdateCallFlow) -> FlowView:
    flow_id = str(params.call_flow_id)
    before = await _read(call, flow_id)
    if before.config_version != params.config_version:
        raise ToolError(_stale(params, before.config_version))
    config = (
        params.config_json.model_dump(mode="json", exclude_none=True) if params.config_json else before.config
    )
    try:
        flow = await call.api.call_flows.update(
            flow_id, name=params.name or before.name, config_json=config, config_version=params.config_version
        )
    except Conflict:
        latest = await _read(call, flow_id)
        raise ToolError(_stale(params, latest.config_version)) from None
    return await _saved(call, flow, before=before)


async def duplicate_call_flow(call: ToolCall, params: DuplicateCallFlow) -> FlowView:
    return await _saved(call, await call.api.call_flows.duplicate(params.call_flow_id))


async def restore_call_flow_version(call: ToolCall, params: RestoreVersion) -> FlowView:
    flow_id = str(params.call_flow_id)
    before = await _read(call, flow_id)
    try:
        flow = await call.api.call_flows.restore(flow_id, params.version)
    except NotFound:
        raise ToolError(
            f"call flow {flow_id} has no version {params.version} (it is at {before.config_version}); "
            "see list_call_flow_versions."
        ) from None
    view = await _saved(call, flow, before=before)
    # The restored version's config is the new one: remember it under the old number too.
    _remember(call.api, flow_id, params.version, _recalled(call.api, flow_id, view.config_version or -1))
    return view


def _attached(numbers: list[dict[str, Any]]) -> str:
    shown = ", ".join(str(n.get("phone_number") or n.get("id")) for n in numbers[:5])
    return shown + (f" and {len(numbers) - 5} more" if len(numbers) > 5 else "")


async def _users(call: ToolCall, flow_id: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The numbers and the number pools (names) that route to a flow: the API will not delete it then."""
    numbers = await call.api.call_flows.numbers(flow_id)
    pools = await call.api.number_pools.list()
    return numbers, [str(p.get("name")) for p in pools if p.get("call_flow_id") == flow_id]


def _blocked(numbers: list[dict[str, Any]], pools: list[str]) -> str | None:
    """Why the API refuses the delete (409), and what to do first, or None."""
    steps = []
    if numbers:
        steps.append(
            f"{len(numbers)} numbers still route to it ({_attached(numbers)}): move each to another flow "
            "with update_number (call_flow_id=...)"
        )
    if pools:
        steps.append(f"number pools {', '.join(pools)} use it: point them at another flow")
    return "; ".join(steps) if steps else None


async def preview_delete_call_flow(call: ToolCall, params: DeleteCallFlow) -> Preview:
    flow_id = str(params.call_flow_id)
    flow = await _read(call, flow_id)
    numbers, pools = await _users(call, flow_id)
    details: dict[str, Any] = {"config_version": flow.config_version, "numbers_attached": len(numbers)}
    if pools:
        details["pools_attached"] = pools
    blocked = _blocked(numbers, pools)
    if blocked:
        details["blocked"] = f"CallScaler refuses to delete a flow in use: {blocked}, then delete again."
    return Preview(
        action=f"Delete call flow {flow.name or 'unnamed'!r} (version {flow.config_version}) "
        "and its whole version history",
        details=details,
        irreversible=True,
    )


async def delete_call_flow(call: ToolCall, params: DeleteCallFlow) -> Deleted:
    flow_id = str(params.call_flow_id)
    try:
        return await call.api.call_flows.delete(flow_id)
    except Conflict as exc:
        blocked = _blocked(*await _users(call, flow_id)) or exc.message
        raise ToolError(
            f"call flow {flow_id} was not deleted: CallScaler refuses (409) to delete a flow in use. "
            f"{blocked[0].upper()}{blocked[1:]}; then delete again."
        ) from None


async def _created_view(call: ToolCall, item: dict[str, Any]) -> FlowView:
    return await _saved(call, await _read(call, str(item.get("id"))))


_created = handlers.CreatedItem(lambda api: api.call_flows.list(), handlers.same_name, _created_view)
# A copy's name is the API's to choose; the new flow that is not the source is the copy.
_copied = handlers.CreatedItem(
    lambda api: api.call_flows.list(),
    lambda params, item: str(item.get("id")) != str(params.call_flow_id),
    _created_view,
)

# --- trace_call_route -------------------------------------------------------------------------------

# Checked, not published: what keys and a ZIP look like goes without saying.
Keys = Annotated[str, Field(pattern=r"^[0-9*#]{1,20}$"), WithJsonSchema({"type": "string"})]
Zip = Annotated[str, Field(pattern=r"^[0-9]{5}$"), WithJsonSchema({"type": "string"})]


class TraceCallRoute(ToolInput):
    number: Annotated[str, Field(min_length=1, max_length=120, description="E.164, id or name")]
    at: Annotated[str, Field(max_length=40, description="ISO, business time zone unless offset; or HH:MM")]
    keypresses: Keys | None = None
    zip: Zip | None = None
    tags: Annotated[list[Annotated[str, Field(min_length=1, max_length=60)]] | None, Field(max_length=10)] = (
        None
    )

    @model_validator(mode="after")
    def _readable_moment(self) -> TraceCallRoute:
        try:
            routes_trace.moment(self.at, UTC, datetime.now(UTC))
        except ValueError:
            raise ValueError(
                "`at` must be a date and time such as 2026-12-01T19:00 (the business's time zone unless it "
                "ends with an offset) or HH:MM for today"
            ) from None
        return self


class RouteStep(LazyModel):
    path: str
    step: str
    detail: str
    when: str | None = Field(None, description="the condition that leads here")


class CallRoute(LazyModel):
    number: str
    flow: str | None = None
    flow_id: str | None = None
    at: str = Field(description="the moment, in the time zone the business's schedules read")
    steps: list[RouteStep]
    rings: list[str] = Field(description="every number the path rings, in order")
    ends: str = Field(
        description="forward, multi_ring, round_robin, rtb (rung: ends there if answered), voicemail, menu "
        "(waits for a key not given), hangup, or no_flow"
    )
    if_no_answer: str | None = Field(None, description="where the call ends when no ring is answered")


async def trace_call_route(call: ToolCall, params: TraceCallRoute) -> CallRoute:
    # The business's zone (settings.time_zone, a ZoneInfo, once engineer A's option is merged; UTC until then).
    business = routes_trace.zone(getattr(call.settings, "time_zone", None), UTC)
    at = routes_trace.moment(params.at, business, datetime.now(UTC))
    number = await find_number(call, params.number)
    when = f"{at.astimezone(business).isoformat(timespec='minutes')} ({business})"
    if not number.call_flow_id:
        return CallRoute(number=number.phone_number, at=when, steps=[], rings=[], ends="no_flow")
    flow = await _read(call, number.call_flow_id)
    caller = routes_trace.Caller(at, params.keypresses or "", params.zip, frozenset(params.tags or ()))
    traced = routes_trace.trace(flow.config, caller, business)
    return CallRoute(
        number=number.phone_number,
        flow=flow.name,
        flow_id=flow.id,
        at=when,
        steps=[RouteStep(path=s.path, step=s.step, detail=s.detail, when=s.when) for s in traced.steps],
        rings=traced.rings,
        ends=traced.ends,
        if_no_answer=traced.if_no_answer,
    )


# What each tool of this toolset runs beyond the generic handlers (see cs_mcp/catalogue.py).
TOOLS = {
    "get_call_flow": ToolFunctions(handler=get_call_flow),
    "create_call_flow": ToolFunctions(
        handler=create_call_flow,
        preview=preview_create_call_flow,
        snapshot=_created.snapshot,
        reconcile=_created.reconcile,
    ),
    "update_call_flow": ToolFunctions(handler=update_call_flow, preview=preview_update_call_flow),
    "duplicate_call_flow": ToolFunctions(
        handler=duplicate_call_flow, snapshot=_copied.snapshot, reconcile=_copied.reconcile
    ),
    "restore_call_flow_version": ToolFunctions(handler=restore_call_flow_version),
    "delete_call_flow": ToolFunctions(handler=delete_call_flow, preview=preview_delete_call_flow),
    "trace_call_route": ToolFunctions(handler=trace_call_route),
}
