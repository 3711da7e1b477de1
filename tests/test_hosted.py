"""Hosted mode over real HTTP: one `cs-mcp serve --transport http --hosted --sandbox` on loopback, several
users at once, each with their own sandbox key (header mode) and role.

Each user sees only their own tools, confirmation tokens, caps, exports and audit lines; wrong, missing
or misused credentials are refused clearly, and no key ever shows in an answer, a header or a log.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from cs_mcp.hosted.header import HeaderKeyVerifier
from cs_mcp.hosted.keys import (
    CHECK_PATH,
    INVALID_FOR_SECONDS,
    VALID_FOR_SECONDS,
    ApiKeyChecker,
    CallerKey,
    KeyVerdict,
)
from cs_mcp.sandbox import Sandbox, SandboxTransport
from cs_mcp.secrets import contains_secret, redact
from cs_mcp.spec import Role
from tests import fleet
from tests.conftest import call, call_error
from tests.test_http_hardening import INITIALIZE, MCP_HEADERS, PATIENCE
from tests.test_transports import CLI, tool_count

pytestmark = pytest.mark.anyio
SECRET = secrets.token_hex(32)
VIEWER, MANAGER, ADMIN = "cs_key_sandbox_viewer", "cs_key_sandbox_manager", "cs_key_sandbox_admin"
WRONG_KEY = "cs_key_" + secrets.token_hex(20)  # a key CallScaler never issued, random so it can't be guessed
SMS_PER_HOUR = 1


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without any cs_mcp or CallScaler setting, plus `extra`."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("CS_MCP_", "CALLSCALER_"))}
    return {**kept, **extra}


class Hosted:
    """A hosted server (no key of its own) in front of a real `cs-mcp sandbox` REST API."""

    def __init__(
        self, folder: Path, *options: str, api: fleet.Sandbox | None = None, state: str = ":memory:"
    ) -> None:
        """`api`: a sandbox shared with other servers (else one of its own); `state`: the store (a Redis
        URL shared by replicas)."""
        self.own_api = api is None
        self.api = api or fleet.Sandbox()
        self.audit, self.log = folder / "audit.jsonl", folder / "server.log"
        port = fleet.free_port()
        self.base = f"http://127.0.0.1:{port}"
        env = clean_environment(
            CS_MCP_SECRET=SECRET,
            CS_MCP_AUDIT_LOG=str(self.audit),
            CS_MCP_MAX_SMS_PER_HOUR=str(SMS_PER_HOUR),
            CS_MCP_NO_CONFIRM_SMS="1",
            CS_MCP_STATE=state,
        )
        argv = [
            "serve",
            "--transport",
            "http",
            "--hosted",
            "--port",
            str(port),
            "--base-url",
            self.api.base_url,
            *options,
        ]
        with self.log.open("wb") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen([*CLI, *argv], env=env, stdout=subprocess.DEVNULL, stderr=log)
        fleet.wait_until(
            lambda: httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200,
            "hosted cs-mcp",
            self.process,
        )

    def audit_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.audit.read_text().splitlines()]

    def server_log(self) -> str:
        return self.log.read_text(errors="replace")

    def close(self) -> None:
        fleet.stop(self.process)
        if self.own_api:
            self.api.close()


@pytest.fixture(scope="module")
def hosted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosted]:
    server = Hosted(tmp_path_factory.mktemp("hosted"))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def stateless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosted]:
    """A hosted server without MCP sessions: every request stands alone, authenticated on its own."""
    server = Hosted(tmp_path_factory.mktemp("hosted-stateless"), "--stateless-http")
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(params=["hosted", "stateless"])
def either(request: pytest.FixtureRequest) -> Hosted:
    """Each hosted server in turn: with MCP sessions, and without (`--stateless-http`)."""
    server: Hosted = request.getfixturevalue(request.param)
    return server


def user(base: str, key: str, role: str | None = None, mode: str = "legacy") -> Client:
    """An MCP client sending a user's own key (and the role they claim) on every request."""
    headers = {"Authorization": f"Bearer {key}", **({"X-CallScaler-Role": role} if role else {})}
    http = httpx2.AsyncClient(headers=headers, timeout=PATIENCE)
    return Client(streamable_http_client(f"{base}/mcp", http_client=http), mode=mode)  # type: ignore[arg-type]


async def names(client: Client) -> set[str]:
    return {tool.name for tool in (await client.list_tools()).tools}


# --- two users at once ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_each_user_sees_only_their_roles_tools_on_either_era(either: Hosted, mode: str) -> None:
    async with (
        user(either.base, VIEWER, mode=mode) as viewer,
        user(either.base, MANAGER, "manager", mode=mode) as manager,
    ):
        seen: dict[str, set[str]] = {}

        async def listing(name: str, client: Client) -> None:
            seen[name] = await names(client)

        async with anyio.create_task_group() as group:  # at once, on one server
            group.start_soon(listing, "viewer", viewer)
            group.start_soon(listing, "manager", manager)
        assert len(seen["viewer"]) == tool_count("viewer") and "purchase_number" not in seen["viewer"]
        assert len(seen["manager"]) == tool_count("manager") and "purchase_number" in seen["manager"]
        refused = await call_error(viewer, "create_number_group", name="Not mine to make")
        assert "not available here" in refused and "needs the manager role (your role is viewer)" in refused
        capabilities = await call(manager, "get_capabilities")
        assert capabilities["role"] == "manager"


async def test_a_confirmation_token_belongs_to_the_user_it_was_issued_to(either: Hosted) -> None:
    async with (
        user(either.base, MANAGER, "manager") as alice,
        user(either.base, ADMIN, "admin") as bob,
    ):
        group = (await call(alice, "list_number_groups"))["items"][0]
        preview = await call(alice, "delete_number_group", group_id=group["id"])
        assert preview["status"] == "needs_confirmation"
        stolen = await call_error(
            bob, "delete_number_group", group_id=group["id"], confirmation_token=preview["confirmation_token"]
        )
        assert "issued to another caller" in stolen
        still_there = {g["id"] for g in (await call(alice, "list_number_groups"))["items"]}
        assert group["id"] in still_there


async def test_a_client_without_forms_confirms_on_the_hosted_servers_page_not_by_token_alone(
    hosted: Hosted,
) -> None:
    """`--confirm auto` on a hosted server: the server is reachable by its users' browsers, so a client
    that cannot show a form gets the approval page, and its token alone (the model's own retry) acts on
    nothing."""
    async with user(hosted.base, MANAGER, "manager") as alice:
        group = (await call(alice, "list_number_groups"))["items"][0]
        preview = await call(alice, "delete_number_group", group_id=group["id"])
        assert f"{hosted.base}/approve/" in preview["message"]
        retried = await call(
            alice,
            "delete_number_group",
            group_id=group["id"],
            confirmation_token=preview["confirmation_token"],
        )
        assert "Waiting for approval on the page" in retried["message"]
        assert group["id"] in {g["id"] for g in (await call(alice, "list_number_groups"))["items"]}


async def test_caps_count_per_user(hosted: Hosted) -> None:
    sender = next(n["phone_number"] for n in hosted.api.numbers() if n.get("sms_enabled"))
    sms = {"from_number": sender, "body": "On our way"}
    async with (
        user(hosted.base, MANAGER, "manager") as alice,
        user(hosted.base, ADMIN, "admin") as bob,
    ):
        assert (await call(alice, "send_sms", to_number="+15125550101", **sms))["status"] == "done"
        over = await call_error(alice, "send_sms", to_number="+15125550102", **sms)
        assert f"cap of {SMS_PER_HOUR} SMS per hour" in over
        # Another user's cap is their own: alice's sends do not use it up.
        assert (await call(bob, "send_sms", to_number="+15125550103", **sms))["status"] == "done"


async def test_an_export_is_readable_by_its_maker_only(hosted: Hosted) -> None:
    async with (
        user(hosted.base, VIEWER) as alice,
        user(hosted.base, MANAGER, "manager") as bob,
    ):
        result = await alice.call_tool("export_calls_csv", {})
        assert not result.is_error, result.content[0].text
        uri = result.structured_content["resource_uri"]
        mine = await alice.read_resource(uri)
        assert mine.contents[0].text.startswith("id,") or "," in mine.contents[0].text
        with pytest.raises(Exception, match="is gone"):
            await bob.read_resource(uri)


async def test_audit_lines_name_each_user_by_their_principal_never_their_key(hosted: Hosted) -> None:
    async with (
        user(hosted.base, MANAGER, "manager") as alice,
        user(hosted.base, ADMIN, "admin") as bob,
    ):
        await call(alice, "create_number_group", name="Alice's group")
        await call(bob, "create_number_group", name="Bob's group")
    lines = [line for line in hosted.audit_lines() if line["tool"] == "create_number_group"]
    by_name = {line["arguments"]["name"]: line for line in lines if line["outcome"] == "done"}
    alice_user, bob_user = by_name["Alice's group"]["user"], by_name["Bob's group"]["user"]
    assert alice_user != bob_user and len(alice_user) == 16
    audit = hosted.audit.read_text()
    assert MANAGER not in audit and ADMIN not in audit and "cs_key_" not in audit


# --- credentials ------------------------------------------------------------------------------------


def initialize(base: str, **headers: str) -> httpx.Response:
    return httpx.post(f"{base}/mcp", content=INITIALIZE, headers={**MCP_HEADERS, **headers}, timeout=PATIENCE)


def metadata_url(base: str) -> str:
    return f"{base}/.well-known/oauth-protected-resource/mcp"


async def test_a_wrong_key_is_refused_clearly_without_repeating_it(hosted: Hosted) -> None:
    refused = initialize(hosted.base, Authorization=f"Bearer {WRONG_KEY}")
    assert refused.status_code == 401
    assert "did not accept this API key" in refused.json()["error_description"]
    challenge = refused.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and f'resource_metadata="{metadata_url(hosted.base)}"' in challenge
    again = initialize(hosted.base, Authorization=f"Bearer {WRONG_KEY}")  # the cached verdict, same answer
    assert again.status_code == 401
    everything = refused.text + again.text + str(refused.headers) + str(again.headers) + hosted.server_log()
    assert WRONG_KEY not in everything and WRONG_KEY[7:15] not in everything


async def test_missing_credentials_point_to_the_resource_metadata(hosted: Hosted) -> None:
    refused = initialize(hosted.base)
    assert refused.status_code == 401
    assert f'resource_metadata="{metadata_url(hosted.base)}"' in refused.headers["www-authenticate"]
    not_a_key = initialize(hosted.base, Authorization="Bearer not-a-callscaler-key")
    assert not_a_key.status_code == 401
    metadata = httpx.get(metadata_url(hosted.base), timeout=PATIENCE)
    assert metadata.status_code == 200 and metadata.json()["resource"] == f"{hosted.base}/mcp"


async def test_a_role_header_that_names_no_role_is_a_clear_400(hosted: Hosted) -> None:
    refused = initialize(
        hosted.base, Authorization=f"Bearer {VIEWER}", **{"X-CallScaler-Role": "cs_key_boss"}
    )
    assert refused.status_code == 400
    assert "viewer, manager, admin, owner" in refused.json()["error_description"]
    assert "cs_key_boss" not in refused.text  # a misplaced key in the wrong header is not echoed either


async def test_a_viewer_key_claiming_manager_lists_manager_tools_but_the_api_refusal_names_the_role(
    hosted: Hosted,
) -> None:
    writes_before = hosted.api.writes("POST /number-groups")
    async with user(hosted.base, VIEWER, "manager") as pretender:
        assert len(await names(pretender)) == tool_count("manager")
        refused = await call_error(pretender, "create_number_group", name="Pretend")
        assert "needs an API key with the manager role" in refused
        assert "X-CallScaler-Role header claims manager" in refused
        assert VIEWER not in refused
    assert hosted.api.writes("POST /number-groups") == writes_before


async def test_a_session_cannot_be_used_with_another_users_key(hosted: Hosted) -> None:
    opened = initialize(hosted.base, Authorization=f"Bearer {MANAGER}")
    assert opened.status_code == 200
    session = opened.headers["mcp-session-id"]
    ping = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "ping"})

    def ping_as(key: str) -> int:
        headers = {**MCP_HEADERS, "Mcp-Session-Id": session, "Mcp-Protocol-Version": "2025-11-25"}
        answer = httpx.post(
            f"{hosted.base}/mcp",
            content=ping,
            headers={**headers, "Authorization": f"Bearer {key}"},
            timeout=PATIENCE,
        )
        return answer.status_code

    assert ping_as(ADMIN) == 404  # answered as if the session did not exist
    assert ping_as(MANAGER) == 200


async def test_a_stateless_hosted_server_keeps_no_sessions_and_authenticates_every_request(
    stateless: Hosted,
) -> None:
    opened = initialize(stateless.base, Authorization=f"Bearer {MANAGER}")
    assert opened.status_code == 200 and "mcp-session-id" not in opened.headers
    assert initialize(stateless.base).status_code == 401
    assert initialize(stateless.base, Authorization=f"Bearer {WRONG_KEY}").status_code == 401


# --- configuration ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "env", "says"),
    [
        (["serve", "--hosted"], {"CS_MCP_SECRET": SECRET}, "add --transport http"),
        (["serve", "--transport", "http", "--hosted"], {}, "needs CS_MCP_SECRET"),
        (["serve", "--transport", "http", "--hosted"], {"CS_MCP_SECRET": "short"}, "at least 32"),
        # Long enough but guessable, and pieces of it would be masked out of ordinary text.
        (["serve", "--transport", "http", "--hosted"], {"CS_MCP_SECRET": "a" * 64}, "at least 10 different"),
        (["serve", "--transport", "http", "--hosted"], {"CS_MCP_SECRET": "abc123xyz" * 8}, "10 different"),
        (
            ["serve", "--transport", "http", "--hosted"],
            {"CS_MCP_SECRET": SECRET, "CALLSCALER_API_KEY": "cs_key_operator1"},
            "unset CALLSCALER_API_KEY",
        ),
    ],
)
def test_hosted_mode_refuses_what_it_cannot_serve(argv: list[str], env: dict[str, str], says: str) -> None:
    done = subprocess.run(
        [*CLI, *argv],
        env=clean_environment(**env),
        capture_output=True,
        text=True,
        timeout=PATIENCE,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert says in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert all(value not in done.stderr for value in env.values())


# --- the key checker and the verifier, alone ---------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def answering(statuses: list[int]) -> tuple[httpx.MockTransport, list[str]]:
    """An API answering each check with the next status (the last repeats); records the keys it saw."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"].removeprefix("Bearer "))
        status = statuses[min(len(seen), len(statuses)) - 1]
        return httpx.Response(status, json={"data": {}} if status == 200 else {"error": {"message": "no"}})

    return httpx.MockTransport(handler), seen


async def test_verdicts_are_cached_briefly_and_an_unreachable_api_is_not_a_verdict() -> None:
    transport, seen = answering([200, 401, 500])  # 500: not retried, so no backoff wait
    clock = Clock()
    checker = ApiKeyChecker("http://api.invalid/api/v1", transport=transport, clock=clock)
    good, other = CallerKey("cs_key_good1234"), CallerKey("cs_key_other123")
    assert (await checker.check(good)).valid
    assert (await checker.check(good)).valid and seen == ["cs_key_good1234"]  # cached
    clock.now += VALID_FOR_SECONDS + 1
    refused = await checker.check(good)  # asked again: the API now refuses it (revoked)
    assert not refused.valid and not refused.unavailable and "cs_key_" not in refused.reason
    clock.now += INVALID_FOR_SECONDS - 1
    assert not (await checker.check(good)).valid and len(seen) == 2  # the refusal is cached too, briefly
    unavailable = await checker.check(other)
    assert unavailable.unavailable and not unavailable.valid
    await checker.check(other)
    assert seen.count("cs_key_other123") >= 2  # never cached: asked each time
    await checker.aclose()


async def test_the_verifier_gives_a_principal_token_that_carries_no_key() -> None:
    transport, seen = answering([200])
    verifier = HeaderKeyVerifier(ApiKeyChecker("http://api.invalid/api/v1", transport=transport))
    assert await verifier.verify_token("an-oauth-token-of-someone-else") is None and seen == []
    token = await verifier.verify_token("cs_key_live_abcdef123456")
    assert token is not None and token.client_id == "header" and token.principal.role == Role.VIEWER
    assert token.subject == token.principal.id and token.token == f"header:{token.principal.id}"
    shown = repr(token) + token.model_dump_json() + repr(token.principal)
    assert "abcdef123456" not in shown


def test_caller_keys_are_hidden_but_not_added_to_the_masking_set() -> None:
    key = CallerKey("cs_key_" + secrets.token_hex(16))
    assert key.reveal() not in repr(key) + str(key)
    assert not contains_secret(key.reveal()[7:])  # only whole key shapes are masked for callers' keys
    assert redact(f"echo {key.reveal()}") == "echo cs_key_********"


class HeldSandbox(httpx.AsyncBaseTransport):
    """The in-process sandbox API, holding every request until `release` is set: checks started at
    once are all in flight together, whatever the event loop's order."""

    def __init__(self) -> None:
        self.api = Sandbox()
        self._transport = SandboxTransport(self.api)
        self.release = anyio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self.release.wait()
        return await self._transport.handle_async_request(request)

    def checks(self) -> int:
        return self.api.requests.matching("GET", CHECK_PATH)


async def checked_at_once(checker: ApiKeyChecker, held: HeldSandbox, keys: list[str]) -> list[KeyVerdict]:
    verdicts: list[KeyVerdict] = []

    async def check(key: str) -> None:
        verdicts.append(await checker.check(CallerKey(key)))

    async with anyio.create_task_group() as group:
        for key in keys:
            group.start_soon(check, key)
        await anyio.wait_all_tasks_blocked()  # every check has started and waits (on the API or a flight)
        held.release.set()
    return verdicts


async def test_concurrent_checks_of_one_new_key_share_a_single_api_request() -> None:
    held = HeldSandbox()
    checker = ApiKeyChecker("http://sandbox.invalid/api/v1", transport=held)
    verdicts = await checked_at_once(checker, held, [MANAGER] * 8)
    assert len(verdicts) == 8 and all(v.valid for v in verdicts)
    assert held.checks() == 1
    await checker.aclose()


async def test_a_shared_flight_never_lends_one_keys_verdict_to_another() -> None:
    held = HeldSandbox()
    checker = ApiKeyChecker("http://sandbox.invalid/api/v1", transport=held)
    verdicts = await checked_at_once(checker, held, [VIEWER, WRONG_KEY, VIEWER, WRONG_KEY])
    assert sorted(v.valid for v in verdicts) == [False, False, True, True]
    assert held.checks() == 2  # one per key
    await checker.aclose()


async def test_a_failed_check_is_shared_by_its_waiters_but_the_next_check_asks_again() -> None:
    held = HeldSandbox()
    held.api.faults.add("status", status=500, times=1, path=CHECK_PATH)
    checker = ApiKeyChecker("http://sandbox.invalid/api/v1", transport=held)
    verdicts = await checked_at_once(checker, held, [ADMIN] * 3)
    assert all(v.unavailable for v in verdicts) and held.checks() == 1
    assert (await checker.check(CallerKey(ADMIN))).valid and held.checks() == 2
    await checker.aclose()
