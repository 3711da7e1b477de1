"""OAuth dynamic registration, the hosted server's one unauthenticated write, is bounded per address and
counted in the state store (so replicas share the count); past the bound nothing reaches the provider."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from cs_mcp.hosted.registration import WINDOW_SECONDS, RegistrationLimit
from cs_mcp.state import MEMORY, SQLiteStore


class Clock:
    now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.anyio
async def test_registrations_past_the_hourly_bound_get_429_and_never_reach_the_provider() -> None:
    registered: list[str] = []

    async def register(request: Request) -> JSONResponse:
        registered.append("client")
        return JSONResponse({"client_id": str(len(registered))}, status_code=201)

    clock = Clock()
    store = SQLiteStore(MEMORY)
    app = RegistrationLimit(
        Starlette(routes=[Route("/register", register, methods=["POST"])]), store, 3, clock
    )

    async def post(address: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(address, 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await http.post("/register", json={})

    assert [(await post("10.0.0.1")).status_code for _ in range(3)] == [201, 201, 201]
    refused = await post("10.0.0.1")
    assert refused.status_code == 429 and "3 an hour" in refused.json()["error_description"]
    assert 0 < int(refused.headers["retry-after"]) <= WINDOW_SECONDS + 1
    assert (await post("10.0.0.2")).status_code == 201  # another address has its own count
    assert len(registered) == 4
    clock.now += WINDOW_SECONDS + 1
    assert (await post("10.0.0.1")).status_code == 201
