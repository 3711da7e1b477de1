"""The SDK's own per-call floor: a one-tool MCPServer that makes the same API request as the measured
cs_mcp tool, with a plain shared httpx client, and returns the JSON. Usage: passthrough_server.py BASE_URL"""

import sys
from typing import Any

import httpx
from mcp.server import MCPServer

from cs_mcp.sandbox import SANDBOX_KEYS

# Logs at WARNING like cs_mcp: the SDK default (INFO) writes a line per request and would slow the floor.
server = MCPServer("passthrough", log_level="WARNING")
api = httpx.AsyncClient(base_url=sys.argv[1], headers={"Authorization": f"Bearer {SANDBOX_KEYS['viewer']}"})


@server.tool()
async def bulk_stats() -> dict[str, Any]:
    """GET /numbers/bulk-stats, unwrapped."""
    response = await api.get("numbers/bulk-stats")
    response.raise_for_status()
    return response.json()["data"]


if __name__ == "__main__":
    server.run("stdio")
