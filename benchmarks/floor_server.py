"""The import-mcp floor: the smallest MCPServer (one tool) served over stdio, to compare cold starts with."""

from mcp.server import MCPServer

server = MCPServer("floor")


@server.tool()
def echo(text: str) -> str:
    """Echo the text."""
    return text


if __name__ == "__main__":
    server.run("stdio")
