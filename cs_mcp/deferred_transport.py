"""An httpx transport made on the first request, so that nothing tools/list does not need is built before it.

The live API's connection pool loads the TLS context and its CA bundle (about 30 ms of CPU), the sandbox
imports the simulator and seeds the business (0.1 s at scale 1, seconds at scale 100): both are made in a
worker thread when the first request arrives, and the event loop keeps serving while they are.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
import httpx


class DeferredTransport(httpx.AsyncBaseTransport):
    def __init__(self, build: Callable[[], httpx.AsyncBaseTransport]) -> None:
        self._build = build
        self._inner: httpx.AsyncBaseTransport | None = None
        self._lock = anyio.Lock()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._inner is None:
            async with self._lock:  # concurrent first requests build it once
                if self._inner is None:
                    self._inner = await anyio.to_thread.run_sync(self._build)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()
