"""cs_mcp: an MCP server for the CallScaler call-tracking API."""

__version__ = "0.1.0"
