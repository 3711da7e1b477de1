"""The server's icon (MCP icons, SEP-973), from the SVG shipped in the package.

Sent inline as a data: URI in serverInfo, once per session. Not on each tool: tools/list goes out with
every request of a session and an icon per tool would cost about a hundred tokens each.
"""

from __future__ import annotations

import base64
from functools import cache
from importlib.resources import files

from mcp_types import Icon

ICON_FILE = "icon.svg"


@cache
def server_icons() -> list[Icon]:
    svg = files("cs_mcp").joinpath(ICON_FILE).read_bytes()
    source = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
    return [Icon(src=source, mime_type="image/svg+xml", sizes=["any"])]
