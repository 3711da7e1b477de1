"""Call flows: list, read, create, update (every save a new version), delete, duplicate, restore.

One flow is answered in the documented shape (`config_json`, `config_version`), or, under the
`flow_shape=alternate` variant, in the shape another docs page shows (`{"call_flow": {...}}`).
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

from cs_mcp.sandbox.answers import listing, public
from cs_mcp.sandbox.resources.numbers import numbers_view
from cs_mcp.sandbox.routes import Req, RouteTable
from cs_mcp.sandbox.store import Store
from cs_mcp.sandbox.validation import ApiError, validate_flow_config

routes = RouteTable()


def flow_answer(store: Store, flow: dict[str, Any], req: Req) -> dict[str, Any]:
    """One flow as an answer's data: the documented shape, or the alternate one the variant asks for."""
    if req.variants.get("flow_shape") != "alternate":
        return {**public(flow), "number_count": len(_attached(store, flow))}
    config = flow["config_json"]
    settings = config.get("settings", {})
    return {
        "call_flow": {
            "id": flow["id"],
            "name": flow["name"],
            "steps": _number_as_target(config["steps"]),
            "settings": {
                "recording": settings.get("recording"),
                "whisper": settings.get("whisper"),
                "press1": settings.get("press1", settings.get("press_1")),
            },
            "version": flow["config_version"],
            "assigned_numbers": [
                {key: n[key] for key in ("id", "phone_number", "name")} for n in _attached(store, flow)
            ],
            "created_at": flow["created_at"],
        }
    }


def _number_as_target(tree: Any) -> Any:
    """A copy of a steps tree in which every forward step names its target `number`, not `destination`."""
    if isinstance(tree, list):
        return [_number_as_target(item) for item in tree]
    if not isinstance(tree, dict):
        return tree
    forward = tree.get("type") == "forward"
    return {
        ("number" if forward and k == "destination" else k): _number_as_target(v) for k, v in tree.items()
    }


def _attached(store: Store, flow: dict[str, Any]) -> list[dict[str, Any]]:
    """The numbers whose calls the flow routes."""
    return [n for n in store.state["numbers"] if n["call_flow_id"] == flow["id"]]


@routes.get("/call-flows")
def list_flows(store: Store, req: Req) -> dict[str, Any]:
    counts = Counter(n["call_flow_id"] for n in store.state["numbers"])
    fields = ("id", "name", "config_version", "updated_at")
    flows = [
        {**{k: f[k] for k in fields}, "number_count": counts[f["id"]]} for f in store.state["call_flows"]
    ]
    return listing("call_flows", flows)


@routes.post("/call-flows", status=201)
def create_flow(store: Store, req: Req) -> dict[str, Any]:
    req.body.only(("name", "config_json"))
    name = req.body.string("name", required=True, max_length=100)
    config = req.body.values.get("config_json")
    if config is None:
        req.body.fail("config_json", "is required")
    validate_flow_config(config)
    return _new_flow(store, name, config, req)


@routes.get("/call-flows/{id}")
def get_flow(store: Store, req: Req) -> dict[str, Any]:
    return flow_answer(store, store.item("call_flows", req.params["id"], "call flow"), req)


@routes.put("/call-flows/{id}")
def update_flow(store: Store, req: Req) -> dict[str, Any]:
    flow = store.item("call_flows", req.params["id"], "call flow")
    body = req.body
    body.only(("name", "config_json", "config_version"))
    if not (body.present("name") or body.present("config_json")):
        raise ApiError(422, "Send name and/or config_json to update the flow")
    expected = body.integer("config_version", minimum=1)
    if expected is not None and expected != flow["config_version"]:
        raise ApiError(
            409,
            f"config_version {expected} is stale: the flow is at version {flow['config_version']}."
            " Fetch the flow again and reapply your change.",
            current_version=flow["config_version"],
        )
    config = body.values.get("config_json", flow["config_json"])
    if body.present("config_json"):
        validate_flow_config(config)
    if body.present("name"):
        flow["name"] = body.string("name", required=True, max_length=100)
    return _save_version(store, flow, config, req)


@routes.delete("/call-flows/{id}")
def delete_flow(store: Store, req: Req) -> dict[str, Any]:
    flow = store.item("call_flows", req.params["id"], "call flow")
    numbers = len(_attached(store, flow))
    pools = sum(1 for p in store.state["number_pools"] if p["call_flow_id"] == flow["id"])
    if numbers or pools:
        users = [
            f"{count} {what}{'s' if count != 1 else ''}"
            for count, what in ((numbers, "number"), (pools, "number pool"))
            if count
        ]
        raise ApiError(
            409,
            f"Call flow '{flow['name']}' is used by {' and '.join(users)}; reassign or release them first",
            number_count=numbers,
            pool_count=pools,
        )
    store.state["call_flows"].remove(flow)
    return {"deleted": True, "id": flow["id"]}


@routes.get("/call-flows/{id}/numbers")
def flow_numbers(store: Store, req: Req) -> dict[str, Any]:
    flow = store.item("call_flows", req.params["id"], "call flow")
    return listing("numbers", numbers_view(store, _attached(store, flow)))


@routes.get("/call-flows/{id}/versions")
def flow_versions(store: Store, req: Req) -> dict[str, Any]:
    flow = store.item("call_flows", req.params["id"], "call flow")
    versions = [
        {k: v[k] for k in ("version", "created_at", "created_by")} for v in reversed(flow["versions"])
    ]
    return listing("versions", versions)


@routes.post("/call-flows/{id}/duplicate", status=201)
def duplicate_flow(store: Store, req: Req) -> dict[str, Any]:
    flow = store.item("call_flows", req.params["id"], "call flow")
    return _new_flow(store, f"{flow['name']} (copy)", copy.deepcopy(flow["config_json"]), req)


@routes.post("/call-flows/{id}/versions/{version:int}/restore")
def restore_flow_version(store: Store, req: Req) -> dict[str, Any]:
    flow = store.item("call_flows", req.params["id"], "call flow")
    wanted = req.params["version"]
    old = next((v for v in flow["versions"] if v["version"] == wanted), None)
    if old is None:
        raise ApiError(404, f"Call flow '{flow['name']}' has no version {wanted}")
    return _save_version(store, flow, copy.deepcopy(old["config_json"]), req)


def _new_flow(store: Store, name: str, config: dict[str, Any], req: Req) -> dict[str, Any]:
    at = store.stamp()
    flow = {
        "id": store.new_id(),
        "name": name,
        "config_json": config,
        "config_version": 1,
        "created_at": at,
        "updated_at": at,
        "versions": [
            {"version": 1, "created_at": at, "created_by": _actor(req), "config_json": copy.deepcopy(config)}
        ],
    }
    store.state["call_flows"].append(flow)
    return flow_answer(store, flow, req)


def _save_version(store: Store, flow: dict[str, Any], config: dict[str, Any], req: Req) -> dict[str, Any]:
    """Every save makes a new version."""
    at = store.stamp()
    flow.update(config_json=config, config_version=flow["config_version"] + 1, updated_at=at)
    version = {"version": flow["config_version"], "created_at": at, "created_by": _actor(req)}
    flow["versions"].append({**version, "config_json": copy.deepcopy(config)})
    return flow_answer(store, flow, req)


def _actor(req: Req) -> str:
    return f"API key ({req.role})"
