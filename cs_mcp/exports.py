"""Exports too large for a tool result, kept in memory and served as MCP resources.

A tool links to `callscaler://exports/<name>`; the client reads it with `resources/read` when it
needs the content, so the conversation only carries the link. The newest few are kept for an hour.
"""

from __future__ import annotations

import time
from collections import OrderedDict

EXPORT_URI_PREFIX = "callscaler://exports/"
KEEP_SECONDS = 3600
KEEP_AT_MOST = 20


class ExportStore:
    def __init__(self) -> None:
        self._items: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def keep(self, name: str, content: str) -> None:
        self._items[name] = (time.monotonic() + KEEP_SECONDS, content)
        while len(self._items) > KEEP_AT_MOST:
            self._items.popitem(last=False)

    def get(self, name: str) -> str | None:
        now = time.monotonic()
        for stale in [key for key, (expires, _) in self._items.items() if expires <= now]:
            del self._items[stale]
        item = self._items.get(name)
        return item[1] if item else None


# One per process: an export made by one MCP session can be read by the client that asked for it
# whichever connection it reads on. Names carry a timestamp, and the data is the caller's own account.
EXPORTS = ExportStore()
