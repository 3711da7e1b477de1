"""The SDK floor per tool kind: a plain MCPServer whose tools make the same API requests as cs_mcp's, with
one shared httpx client, and return the API's data with the least shaping (a page is the first `limit`
items and the total). What cs_mcp costs beyond this, per call, is its own.

| tool           | API requests (as cs_mcp makes them)                                       |
|----------------|---------------------------------------------------------------------------|
| list_numbers   | GET /numbers                                                              |
| get_call_flow  | GET /call-flows/{id}                                                      |
| list_calls     | GET /analytics/calls (counts by status, source, direction), GET /calls    |
| send_sms       | preview: GET /numbers; with the token: GET /numbers, GET /texts, POST /texts |

    python benchmarks/kind_floor_server.py BASE_URL                 # stdio
    python benchmarks/kind_floor_server.py BASE_URL --port 8123     # Streamable HTTP at /mcp, /healthz
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from floor_serving import arguments, run  # beside this script, which runs as a file, not a module
from mcp.server import MCPServer

from cs_mcp.sandbox import SANDBOX_KEYS

args = arguments()

server = MCPServer("kind-floor", log_level="WARNING")  # cs_mcp logs at WARNING too
api = httpx.AsyncClient(
    base_url=args.base_url.rstrip("/") + "/",
    headers={"Authorization": f"Bearer {SANDBOX_KEYS['manager']}"},
    limits=httpx.Limits(max_connections=20, max_keepalive_connections=20),
)
pending: dict[str, dict[str, str]] = {}


async def get(path: str, **params: Any) -> Any:
    response = await api.get(path, params=params)
    response.raise_for_status()
    return response.json()["data"]


def page(data: dict[str, Any], key: str, limit: int) -> dict[str, Any]:
    return {"total": data["total"], "items": data[key][:limit]}


@server.tool()
async def list_numbers(limit: int = 20) -> dict[str, Any]:
    """Numbers: the first `limit` and the total."""
    return page(await get("numbers"), "numbers", limit)


@server.tool()
async def get_call_flow(call_flow_id: str) -> dict[str, Any]:
    """One call flow as the API answers it."""
    return dict(await get(f"call-flows/{call_flow_id}"))


@server.tool()
async def list_calls(limit: int = 20) -> dict[str, Any]:
    """Calls: counts by status, source and direction, then the first `limit`."""
    counts = await get(
        "analytics/calls", metrics="count,avg_duration,qualified_pct", group_by="status,source,direction"
    )
    return {"counts": counts, **page(await get("calls", limit=limit), "calls", limit)}


@server.tool()
async def send_sms(
    from_number: str, to_number: str, body: str, confirmation_token: str | None = None
) -> dict[str, Any]:
    """Preview a text (a token to confirm it), or send it with the token."""
    message = {"from_number": from_number, "to_number": to_number, "body": body}
    if confirmation_token is None:
        await get("numbers")
        token = secrets.token_urlsafe(16)
        pending[token] = message
        return {"status": "needs_confirmation", "preview": message, "confirmation_token": token}
    if pending.pop(confirmation_token, None) != message:
        return {"status": "refused"}
    await get("numbers")
    await get("texts", contact=to_number)
    response = await api.post("texts", json=message)
    response.raise_for_status()
    return {"status": "done", "result": response.json()["data"]}


if __name__ == "__main__":
    run(server, args.port)
