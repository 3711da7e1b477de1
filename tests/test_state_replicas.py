"""One truth for guardrail state across processes: three `cs-mcp serve --transport http` replicas on one
REST sandbox, sharing a real redis-server (or one SQLite file), tried the way a load balancer and
crashes would try them. Every write is counted where it lands: the sandbox's log of applied writes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client
from mcp_types import ElicitResult, InputRequiredResult

from tests.fleet import RedisServer, Replica, RoundRobinProxy, Sandbox, running_redis, start_replicas

pytestmark = pytest.mark.anyio


@pytest.fixture
def api() -> Iterator[Sandbox]:
    sandbox = Sandbox()
    yield sandbox
    sandbox.close()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with running_redis(tmp_path) as server:
        yield server


@pytest.fixture
def fleet(api: Sandbox) -> Iterator[Any]:
    """Starts replicas (and stops every one it started, however the test ends)."""
    started: list[Replica] = []

    def start(state: str, count: int = 3, *options: str) -> list[Replica]:
        replicas = start_replicas(api, state, count, options)
        started.extend(replicas)
        return replicas

    yield start
    for replica in started:
        replica.close()


async def structured(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content[0].text  # type: ignore[union-attr]
    assert result.structured_content is not None
    return result.structured_content


async def preview_on(replica: Replica, tool: str, **arguments: Any) -> dict[str, Any]:
    """The first call of a guarded tool, on one replica: its preview and token."""
    async with Client(replica.url) as client:
        return await structured(client, tool, **arguments)


async def error_of(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    return str(result.content[0].text)  # type: ignore[union-attr]


async def redeem_everywhere(replicas: list[Replica], tool: str, arguments: dict[str, Any]) -> list[str]:
    """The same confirmed call sent to every replica at once; each one's status (or 'error')."""
    outcomes: list[str] = []

    async def one(replica: Replica) -> None:
        async with Client(replica.url) as client:
            result = await client.call_tool(tool, arguments)
            outcomes.append("error" if result.is_error else (result.structured_content or {})["status"])

    async with anyio.create_task_group() as group:
        for replica in replicas:
            group.start_soon(one, replica)
    return outcomes


async def offers(client: Client, area_code: str, count: int) -> list[str]:
    found = await structured(client, "search_available_numbers", area_code=area_code, limit=count)
    return [offer["phone_number"] for offer in found["numbers"]]


# -- Redis


async def test_a_token_minted_on_one_replica_acts_once_however_many_replicas_race_for_it(
    api: Sandbox, redis_server: RedisServer, fleet: Any
) -> None:
    replicas = fleet(redis_server.url)
    number = api.numbers()[-1]
    preview = await preview_on(replicas[0], "release_number", number_id=number["id"])
    arguments = {"number_id": number["id"], "confirmation_token": preview["confirmation_token"]}
    outcomes = await redeem_everywhere(replicas, "release_number", arguments)
    assert sorted(outcomes) == ["done", "error", "error"]
    assert api.writes(f"DELETE /numbers/{number['id']}") == 1


async def test_an_elicitation_round_begun_on_one_replica_is_answered_on_another(
    api: Sandbox, redis_server: RedisServer, fleet: Any
) -> None:
    async def never_asked_directly(context: Any, params: Any) -> ElicitResult:
        raise AssertionError("the 2026-07-28 era asks through InputRequiredResult")

    first, second = fleet(redis_server.url, 2)
    number = api.numbers()[-2]
    async with (
        Client(first.url, elicitation_callback=never_asked_directly) as a,
        Client(second.url, elicitation_callback=never_asked_directly) as b,
    ):
        asked = await a.session.call_tool(
            "release_number", {"number_id": number["id"]}, allow_input_required=True
        )
        assert isinstance(asked, InputRequiredResult)
        (key,) = asked.input_requests
        answered = await b.session.call_tool(
            "release_number",
            {"number_id": number["id"]},
            allow_input_required=True,
            input_responses={key: ElicitResult(action="accept", content={"confirm": True})},
            request_state=asked.request_state,
        )
    assert not isinstance(answered, InputRequiredResult)
    assert not answered.is_error and (answered.structured_content or {})["status"] == "done"
    assert api.writes(f"DELETE /numbers/{number['id']}") == 1


async def test_caps_hold_across_replicas_behind_a_round_robin_and_across_a_restart(
    api: Sandbox, redis_server: RedisServer, fleet: Any
) -> None:
    replicas = fleet(redis_server.url, 3, "--max-purchases-per-day", "2")
    proxy = RoundRobinProxy([f"http://127.0.0.1:{r.port}" for r in replicas])
    try:
        async with Client(proxy.url) as client:
            phones = await offers(client, "512", 4)
            statuses = []
            for phone in phones[:3]:
                preview = await client.call_tool("purchase_number", {"phone_number": phone})
                token = (preview.structured_content or {}).get("confirmation_token")
                if token is None:  # refused at the preview: over the cap
                    statuses.append("refused")
                    continue
                done = await structured(
                    client, "purchase_number", phone_number=phone, confirmation_token=token
                )
                statuses.append(done["status"])
        assert statuses == ["done", "done", "refused"]
    finally:
        proxy.close()
    for replica in replicas:  # every replica restarted: the count is in Redis, not in them
        replica.close()
    (fresh,) = fleet(redis_server.url, 1, "--max-purchases-per-day", "2")
    async with Client(fresh.url) as client:
        refused = await error_of(client, "purchase_number", phone_number=phones[3])
    assert "cap of 2 purchases per day" in refused
    assert api.writes("POST /numbers/purchase") == 2


async def test_a_replica_killed_mid_confirmation_leaves_its_token_redeemable_elsewhere(
    api: Sandbox, redis_server: RedisServer, fleet: Any
) -> None:
    doomed, survivor = fleet(redis_server.url, 2)
    number = api.numbers()[-3]
    preview = await preview_on(doomed, "release_number", number_id=number["id"])
    doomed.kill()
    async with Client(survivor.url) as client:
        done = await structured(
            client, "release_number", number_id=number["id"], confirmation_token=preview["confirmation_token"]
        )
    assert done["status"] == "done" and api.writes(f"DELETE /numbers/{number['id']}") == 1


async def test_with_redis_stopped_guarded_writes_are_refused_reads_work_and_it_recovers(
    api: Sandbox, redis_server: RedisServer, fleet: Any
) -> None:
    first, second = fleet(redis_server.url, 2)
    number = api.numbers()[-4]
    preview = await preview_on(first, "release_number", number_id=number["id"])
    confirm = {"number_id": number["id"], "confirmation_token": preview["confirmation_token"]}
    redis_server.stop()
    async with Client(second.url) as client:
        listed = await structured(client, "list_numbers", limit=2)
        refused = await error_of(client, "release_number", **confirm)
        not_previewed = await error_of(client, "release_number", number_id=api.numbers()[-5]["id"])
        # An unguarded write needs no store: it still goes through.
        await structured(client, "create_number_group", name="Made while Redis was down")
    assert listed["total"] > 0
    for message in (refused, not_previewed):
        assert "state store" in message and "Nothing was sent" in message and "Redis 127.0.0.1" in message
    assert api.writes(f"DELETE /numbers/{number['id']}") == 0
    redis_server.start()  # its append-only file kept the token
    async with Client(second.url) as client:
        done = await structured(client, "release_number", **confirm)
    assert done["status"] == "done" and api.writes(f"DELETE /numbers/{number['id']}") == 1


async def test_store_keys_carry_hashes_never_the_api_key_or_a_token(
    api: Sandbox, redis_server: RedisServer, fleet: Any
) -> None:
    import redis

    (replica,) = fleet(redis_server.url, 1, "--max-purchases-per-day", "5")
    async with Client(replica.url) as client:
        (phone,) = await offers(client, "727", 1)
        preview = await structured(client, "purchase_number", phone_number=phone)
        await structured(
            client, "purchase_number", phone_number=phone, confirmation_token=preview["confirmation_token"]
        )
        pending = await structured(client, "release_number", number_id=api.numbers()[-1]["id"])
    with redis.Redis.from_url(redis_server.url) as raw:
        keys = [key.decode() for key in raw.keys("*")]
        values = b" ".join(raw.dump(key) or b"" for key in keys)
    assert any(key.startswith("cs-mcp:cap:") for key in keys) and any(
        key.startswith("cs-mcp:token:") for key in keys
    )
    for secret in ("cs_key_sandbox_manager", preview["confirmation_token"], pending["confirmation_token"]):
        assert all(secret not in key for key in keys) and secret.encode() not in values


# -- SQLite: replicas on one machine sharing one file


async def test_replicas_sharing_a_sqlite_file_share_tokens_and_caps(
    api: Sandbox, tmp_path: Path, fleet: Any
) -> None:
    first, second, third = fleet(str(tmp_path / "state.sqlite3"), 3, "--max-purchases-per-day", "1")
    async with Client(first.url) as a, Client(second.url) as b, Client(third.url) as c:
        phones = await offers(a, "813", 2)
        preview = await structured(a, "purchase_number", phone_number=phones[0])
        done = await structured(
            b, "purchase_number", phone_number=phones[0], confirmation_token=preview["confirmation_token"]
        )
        refused = await error_of(c, "purchase_number", phone_number=phones[1])
    assert done["status"] == "done" and "cap of 1 purchases per day" in refused
    assert api.writes("POST /numbers/purchase") == 1


async def test_stateless_http_lets_a_2025_era_client_confirm_through_a_round_robin(
    api: Sandbox, tmp_path: Path, fleet: Any
) -> None:
    """--stateless-http: no session to stick to, so the older protocol works behind a round-robin
    too, confirmed by token (elicitation needs a session there)."""

    async def yes(context: Any, params: Any) -> ElicitResult:
        return ElicitResult(action="accept", content={"confirm": True})

    replicas = fleet(str(tmp_path / "state.sqlite3"), 3, "--stateless-http")
    proxy = RoundRobinProxy([f"http://127.0.0.1:{r.port}" for r in replicas])
    number = api.numbers()[-1]
    try:
        async with Client(proxy.url, mode="legacy", elicitation_callback=yes) as client:
            preview = await structured(client, "release_number", number_id=number["id"])
            assert preview["status"] == "needs_confirmation"
            done = await structured(
                client,
                "release_number",
                number_id=number["id"],
                confirmation_token=preview["confirmation_token"],
            )
    finally:
        proxy.close()
    assert done["status"] == "done" and api.writes(f"DELETE /numbers/{number['id']}") == 1
    assert proxy.turn >= 3  # the requests really went round
