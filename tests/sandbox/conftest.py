"""Fixtures for the sandbox's own tests: a sandbox anchored at a fixed time, and an HTTP helper."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from cs_mcp.sandbox import SANDBOX_KEYS, Sandbox, SandboxTransport

NOW = datetime(2026, 3, 1, tzinfo=UTC)
BASE_URL = "http://sandbox.invalid/api/v1"


class Api:
    """Sends one request to a sandbox in-process, as a given role (None: no key)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    async def __call__(
        self, method: str, path: str, role: str | None = "manager", key: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        key = key or (SANDBOX_KEYS[role] if role else None)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        headers.update(kwargs.pop("headers", {}))
        async with httpx.AsyncClient(transport=SandboxTransport(self.sandbox), base_url=BASE_URL) as client:
            return await client.request(method, path, headers=headers, **kwargs)

    async def data(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        """The `data` of a successful answer, asserting its status."""
        response = await self(method, path, **kwargs)
        assert response.status_code == status, response.text
        return response.json()["data"]

    async def error(self, method: str, path: str, status: int, **kwargs: Any) -> dict[str, Any]:
        """The error object of a failed answer, asserting its status and the envelope."""
        response = await self(method, path, **kwargs)
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["code"] == str(status) and error["message"]
        return error


@pytest.fixture
def sb() -> Sandbox:
    """A fresh sandbox for a test that changes state."""
    return Sandbox(now=NOW)


@pytest.fixture
def api(sb: Sandbox) -> Api:
    return Api(sb)


@pytest.fixture(scope="session")
def seeded() -> Sandbox:
    """One sandbox shared by the tests that only read (or are refused before anything changes)."""
    return Sandbox(now=NOW)


@pytest.fixture
def reader(seeded: Sandbox) -> Api:
    return Api(seeded)
