"""Call flows: `/call-flows`, their numbers, versions, and every way to save one.

CallScaler's pages document two shapes of one flow, and cs_mcp reads both as one `CallFlow`:
- the Resources API's: `{"id", "name", "config_json": {"steps": [...]}, "config_version"}`, a forward
  step ringing its `destination`, optionally wrapped as `{"call_flow": {...}}`;
- another page's: `{"call_flow": {"id", "name", "steps": [...], "settings": {"recording", "whisper",
  "press1"}, "version", "assigned_numbers", "created_at"}}`, a forward step ringing its `number`.
The second is rewritten into the first: steps and settings into `config_json` (`press1` as `press_1`),
`version` as `config_version`, the count of `assigned_numbers` as `number_count`, and every forward
step's `number` as `destination`, at any depth, so the routing checks see every number a flow rings.
"""

from __future__ import annotations

from typing import Any

from cs_mcp.api.models import CallFlow, Deleted
from cs_mcp.api.resource import Answer, Items, Resource
from cs_mcp.errors import CallScalerError

_RENAMED_SETTINGS = {"press1": "press_1"}


def _forwards_to_destination(value: Any) -> Any:
    """`value` with every forward step's `number` named `destination`, wherever the step nests."""
    if isinstance(value, list):
        return [_forwards_to_destination(item) for item in value]
    if not isinstance(value, dict):
        return value
    rename = value.get("type") == "forward" and "number" in value and "destination" not in value
    return {
        ("destination" if rename and key == "number" else key): _forwards_to_destination(item)
        for key, item in value.items()
    }


def _config(config: dict[str, Any]) -> dict[str, Any]:
    """A config with its forward steps ringing `destination` and its settings named as cs_mcp names them."""
    fixed = dict(config)
    if "steps" in config:
        fixed["steps"] = _forwards_to_destination(config["steps"])
    if isinstance(config.get("settings"), dict):
        fixed["settings"] = {
            _RENAMED_SETTINGS.get(key, key): item for key, item in config["settings"].items()
        }
    return fixed


def normalised(flow: dict[str, Any]) -> dict[str, Any]:
    """A flow object of either documented shape, in the Resources API's."""
    if isinstance(flow.get("config_json"), dict):
        return {**flow, "config_json": _config(flow["config_json"])}
    if "steps" not in flow:
        return flow  # a bare acknowledgement: the caller reads the flow back
    assigned = flow.get("assigned_numbers")
    moved = ("steps", "settings", "version", "assigned_numbers")
    return {
        **{key: item for key, item in flow.items() if key not in moved},
        "config_json": _config({key: flow[key] for key in ("steps", "settings") if key in flow}),
        "config_version": flow.get("config_version", flow.get("version")),
        "number_count": len(assigned) if isinstance(assigned, list) else flow.get("number_count"),
    }


def _flow(answer: Answer) -> CallFlow:
    return answer.typed(CallFlow, normalised(answer.object("call_flow")))


class CallFlows(Resource):
    async def list(self) -> Items:
        return (await self._get("/call-flows")).items("call_flows")

    async def get(self, flow_id: object) -> CallFlow:
        return _flow(await self._get(f"/call-flows/{flow_id}"))

    async def numbers(self, flow_id: object) -> Items:
        """The numbers that route to the flow."""
        return (await self._get(f"/call-flows/{flow_id}/numbers")).items("numbers")

    async def versions(self, flow_id: object) -> Items:
        """The flow's saved versions (metadata; the API keeps no old configs that it returns)."""
        return (await self._get(f"/call-flows/{flow_id}/versions")).items("versions")

    async def create(self, name: str, config_json: dict[str, Any]) -> CallFlow:
        return await self._saved(
            await self._send("POST", "/call-flows", {"name": name, "config_json": config_json})
        )

    async def update(
        self, flow_id: object, *, name: str | None, config_json: dict[str, Any], config_version: int
    ) -> CallFlow:
        """Save a new config (and name). The API refuses a stale `config_version` with 409 (`Conflict`)."""
        body = {"name": name, "config_json": config_json, "config_version": config_version}
        return await self._saved(await self._send("PUT", f"/call-flows/{flow_id}", body), flow_id)

    async def duplicate(self, flow_id: object) -> CallFlow:
        return await self._saved(await self._send("POST", f"/call-flows/{flow_id}/duplicate"))

    async def restore(self, flow_id: object, version: int) -> CallFlow:
        """Save version `version`'s config as the newest version (404 `NotFound` when there is no such one)."""
        answer = await self._send("POST", f"/call-flows/{flow_id}/versions/{version}/restore")
        return await self._saved(answer, flow_id)

    async def delete(self, flow_id: object) -> Deleted:
        """Delete the flow and its history. The API refuses (409 `Conflict`) while numbers or pools use it."""
        answer = await self._send("DELETE", f"/call-flows/{flow_id}")
        acknowledged = Deleted() if answer.empty else answer.model(Deleted)
        return acknowledged.model_copy(
            update={"deleted": acknowledged.deleted is not False, "id": str(flow_id)}
        )

    async def _saved(self, answer: Answer, changed: object | None = None) -> CallFlow:
        """The flow a write saved, read back when the API only acknowledged it: with the new flow's id, or
        with 204 No Content to a change of the flow `changed`."""
        if answer.empty and changed is not None:
            saved = str(changed)
        else:
            flow = _flow(answer)
            if flow.config_json is not None:
                return flow
            saved = flow.id
        try:
            return await self.get(saved)
        except CallScalerError as exc:
            raise answer.unreadable(f"reading call flow {saved} back failed ({exc.message})") from None
