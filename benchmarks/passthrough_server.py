"""The SDK's own per-call floor: a one-tool MCPServer that makes the same API request as the measured
cs_mcp tool, with a plain shared httpx client, and returns the JSON.

    python benchmarks/passthrough_server.py BASE_URL                 # stdio
    python benchmarks/passthrough_server.py BASE_URL --port 8123     # Streamable HTTP at /mcp, /healthz
"""

import argparse
from typing import Any

import httpx
from mcp.server import MCPServer

from cs_mcp.sandbox import SANDBOX_KEYS

parser = argparse.ArgumentParser()
parser.add_argument("base_url")
parser.add_argument("--port", type=int, help="serve Streamable HTTP on 127.0.0.1:PORT instead of stdio")
args = parser.parse_args()

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
    if args.port is None:
        server.run("stdio")
    else:
        from floor_http import serve  # beside this script, which runs as a file, not a module

        serve(server, args.port)
