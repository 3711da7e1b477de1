"""What a guarded write costs the state store: one step (one SQLite transaction, one Redis round trip)
for each thing its guarantees need, and nothing for a read. Counted, not timed: the store's own calls,
and for Redis the commands actually written to the socket."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client
from redis.asyncio.connection import AbstractConnection

from cs_mcp.config import Caps, Settings
from cs_mcp.guardrails import Guardrails
from cs_mcp.sandbox import Sandbox
from cs_mcp.state import Entry, SQLiteStore, Store
from cs_mcp.state.redis_store import RedisStore
from tests.conftest import no_sleep
from tests.counting_store import CountingStore
from tests.fleet import running_redis
from tests.test_audit_caps import sms_sender
from tests.test_guardrails import Answers, open_client

pytestmark = pytest.mark.anyio


@pytest.fixture
def sends(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every command batch a Redis client writes to its socket: one per round trip."""
    written: list[bytes] = []
    original = AbstractConnection.send_packed_command

    async def counting(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        written.append(command if isinstance(command, bytes) else b"".join(command))
        await original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    return written


@pytest.fixture(params=["memory", "file", "redis"])
def backing(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "redis":
        with running_redis(tmp_path, "everysec") as server:
            yield RedisStore(server.url)
    else:
        yield SQLiteStore(":memory:" if request.param == "memory" else tmp_path / "state.sqlite3")


def serving(
    sandbox: Sandbox, store: Store, *, sms_per_hour: int = 100, **client: Any
) -> AbstractAsyncContextManager[Client]:
    """An MCP client of a manager server whose guardrails keep their state in `store`."""
    settings = Settings.for_sandbox("manager", caps=Caps(sms_per_hour=sms_per_hour))
    guardrails = Guardrails(settings, store=store, sleep=no_sleep)
    return open_client(sandbox, settings=settings, guardrails=guardrails, **client)


def sms(sandbox: Sandbox) -> dict[str, str]:
    return {"from_number": sms_sender(sandbox), "to_number": "+14075550199", "body": "round trips"}


async def confirm_by_token(client: Client, arguments: dict[str, str]) -> None:
    preview = await client.call_tool("send_sms", arguments)
    token = (preview.structured_content or {})["confirmation_token"]
    done = await client.call_tool("send_sms", {**arguments, "confirmation_token": token})
    assert (done.structured_content or {}).get("status") == "done", done.content


async def test_a_token_confirmed_write_is_one_step_to_preview_and_two_to_act_and_a_read_none(
    backing: Store, sandbox: Sandbox
) -> None:
    """The preview checks the cap and keeps its token in one step; the confirmation takes the token
    (before any request) and reserves the slot (just before the write): two, since a snapshot of
    the target and a second preview come between them."""
    store = CountingStore(backing)
    arguments = sms(sandbox)
    async with serving(sandbox, store) as client:
        await confirm_by_token(client, arguments)  # warm-up: connections opened
        store.counted()
        preview = await client.call_tool("send_sms", arguments)
        assert store.counted() == ["put_all"]
        token = (preview.structured_content or {})["confirmation_token"]
        await client.call_tool("send_sms", {**arguments, "confirmation_token": token})
        assert store.counted() == ["take", "reserve"]
        assert not (await client.call_tool("list_numbers", {"limit": 5})).is_error
        assert not (await client.call_tool("get_capabilities", {})).is_error
        assert store.counted() == []


async def test_an_elicited_write_keeps_its_ticket_with_the_cap_check_in_one_step(sandbox: Sandbox) -> None:
    """Over the 2026-07-28 era's two rounds: the first checks the cap and keeps the ticket in one step;
    the second finds that ticket (the question must be the same), takes it and reserves the slot.
    (`secret` is the request-state key, read at each seal and unseal on purpose.)"""
    store = CountingStore(SQLiteStore(":memory:"))
    async with serving(sandbox, store, answers=Answers("accept")) as client:
        done = await client.call_tool("send_sms", sms(sandbox))
    assert (done.structured_content or {}).get("status") == "done", done.content
    calls = [name for name in store.counted() if name != "secret"]
    assert calls == ["put_all", "get", "get", "take", "reserve"], repr(calls)


async def test_each_redis_step_is_one_round_trip_on_the_wire(
    sends: list[bytes], sandbox: Sandbox, tmp_path: Path
) -> None:
    """Counted where it costs: the command batches written to Redis's socket."""
    with running_redis(tmp_path, "everysec") as server:
        arguments = sms(sandbox)
        async with serving(sandbox, RedisStore(server.url)) as client:
            await confirm_by_token(client, arguments)  # warm-up: the connection's handshake
            sends.clear()
            await confirm_by_token(client, arguments)
            assert len(sends) == 3, sends
            sends.clear()
            assert not (await client.call_tool("list_numbers", {"limit": 5})).is_error
            assert sends == []
        several = RedisStore(server.url)
        await several.put("warm", "up", 60)
        sends.clear()
        kept = await several.put_all({"a": Entry("1", 60), "b": Entry("2", 60, linger=60)})
        assert kept.granted and len(sends) == 1 and await several.get("b") == "2"


async def test_a_preview_over_the_cap_keeps_no_token_and_costs_one_step(sandbox: Sandbox) -> None:
    kept = SQLiteStore(":memory:")
    store = CountingStore(kept)
    arguments = sms(sandbox)
    async with serving(sandbox, store, sms_per_hour=1) as client:
        await confirm_by_token(client, arguments)
        store.counted()
        refused = await client.call_tool("send_sms", arguments)
    assert refused.is_error and "cap of 1 SMS per hour" in refused.content[0].text  # type: ignore[union-attr]
    assert store.counted() == ["put_all"]
    tokens = kept._db.execute("SELECT COUNT(*) FROM entries WHERE key LIKE 'token:%'")
    assert tokens.fetchone() == (0,)  # the used one was taken; the refused preview kept none


async def test_with_the_store_gone_a_capped_preview_is_refused_at_its_one_step_and_nothing_sent(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    with running_redis(tmp_path, "everysec") as server:
        async with serving(sandbox, RedisStore(server.url)) as client:
            server.stop()
            refused = await client.call_tool("send_sms", sms(sandbox))
            listed = await client.call_tool("list_numbers", {"limit": 2})
    message = refused.content[0].text  # type: ignore[union-attr]
    assert refused.is_error and "state store" in message and "Nothing was sent" in message
    assert not listed.is_error and not [r for r in sandbox.requests if r.method == "POST"]
