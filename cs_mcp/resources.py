"""MCP resources: exports too large for a tool result (see cs_mcp/exports.py)."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError

from cs_mcp.exports import EXPORT_URI_PREFIX, EXPORTS


def register_resources(server: MCPServer) -> None:
    @server.resource(
        EXPORT_URI_PREFIX + "{name}",
        name="export",
        title="A CSV export",
        description="An export a tool linked to because it was too large to attach; kept for an hour.",
        mime_type="text/csv",
    )
    def read_export(name: str) -> str:
        content = EXPORTS.get(name)
        if content is None:
            raise ResourceError(f"export {name} is gone (kept one hour); call the export tool again")
        return content
