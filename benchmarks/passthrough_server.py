"""The SDK's own per-call floor: a one-tool MCPServer that makes the same API request as the measured
cs_mcp tool, with a plain shared httpx client, and returns the JSON.

    python benchmarks/passthrough_server.py BASE_URL                 # stdio
    python benchmarks/passthrough_server.py BASE_URL --port 8123     # Streamable HTTP at /mcp, /healthz
"""

from typing import Any

import httpx
from floor_serving import arguments, run  # beside this script, which runs as a file, not a module
from mcp.server import MCPServer

from cs_mcp.sandbox import SANDBOX_KEYS

args = arguments()

# Logs at WARNING like cs_mcp: the SDK default (INFO) writes a line per request and would slow the floor.
server = MCPServer("passthrough", log_level="WARNING")
api = httpx.AsyncClient(base_url=args.base_url, headers={"Authorization": f"Bearer {SANDBOX_KEYS['viewer']}"})


@server.tool()
async def bulk_stats() -> dict[str, Any]:
    """GET /numbers/bulk-stats, unwrapped."""
    response = await api.get("numbers/bulk-stats")
    response.raise_for_status()
    return response.json()["data"]


if __name__ == "__main__":
    run(server, args.port)
