"""A bound on OAuth dynamic client registration, the one unauthenticated write a hosted server takes.

`POST /register` (RFC 7591) stores a client for a year; unbounded, anyone could fill the state store.
Each client address may register `limit` clients an hour, counted in the store so every replica agrees.
Behind a proxy every request comes from the proxy's address: there the limit is shared by all, and a
per-client limit belongs in the proxy (docs/hosting.md says so).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from cs_mcp.state import Cap, Store, StoreUnavailable

REGISTER_PATH = "/register"
REGISTRATIONS_PER_HOUR = 30
WINDOW_SECONDS = 3600.0


class RegistrationLimit:
    def __init__(
        self,
        app: ASGIApp,
        store: Store,
        limit: int = REGISTRATIONS_PER_HOUR,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app, self.store, self.limit, self.clock = app, store, limit, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == REGISTER_PATH:
            refusal = await self._refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _refusal(self, scope: Scope) -> JSONResponse | None:
        address = (scope.get("client") or ("unknown",))[0]
        try:
            cap = Cap(f"register:{address}", self.clock(), WINDOW_SECONDS, self.limit)
            slots = await self.store.reserve(cap, [secrets.token_hex(8)])
        except StoreUnavailable:
            return JSONResponse(
                {
                    "error": "temporarily_unavailable",
                    "error_description": "registration is paused; try later",
                },
                status_code=503,
            )
        if slots.granted:
            return None
        retry_after = int(slots.used[0] + WINDOW_SECONDS - self.clock()) + 1 if slots.used else 60
        return JSONResponse(
            {
                "error": "invalid_client_metadata",
                "error_description": f"too many client registrations from this address "
                f"({self.limit} an hour); try again later",
            },
            status_code=429,
            headers={"Retry-After": str(max(retry_after, 1))},
        )
