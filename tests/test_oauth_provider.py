"""The OAuth provider over the Store: codes and refresh tokens single use, expiries, rotation, revocation
that deletes the key, grants that never lend each other their principal, keys sealed at rest, and a
rotated CS_MCP_SECRET that signs everyone out without a crash."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from mcp.server.auth.provider import AccessToken, AuthorizationParams, AuthorizeError, TokenError
from mcp.server.auth.routes import create_auth_routes
from mcp.server.auth.settings import ClientRegistrationOptions, RevocationOptions
from mcp.shared.auth import OAuthClientInformationFull
from pydantic import AnyHttpUrl, AnyUrl
from starlette.applications import Starlette

from cs_mcp.hosted.keys import KeyVerdict
from cs_mcp.hosted.oauth import (
    ACCESS_LIFETIME,
    CODE_LIFETIME,
    CONSENT_PATH,
    REFRESH_PREFIX,
    CallScalerOAuthProvider,
)
from cs_mcp.hosted.principal import PrincipalToken, principal_id
from cs_mcp.hosted.vault import Vault
from cs_mcp.sandbox.auth import REVOKED_KEY, SANDBOX_KEYS
from cs_mcp.secrets import Secret
from cs_mcp.spec import Role
from cs_mcp.state import MEMORY, SQLiteStore, Store
from cs_mcp.web.signing import ServerSecret

PUBLIC_URL = "http://127.0.0.1:8000"
REDIRECT = "http://127.0.0.1:9999/callback"
VIEWER_KEY = Secret(SANDBOX_KEYS["viewer"])
MANAGER_KEY = Secret(SANDBOX_KEYS["manager"])


@dataclass
class SandboxKeys:
    """A KeyChecker that knows the sandbox's keys; `unavailable` stands for CallScaler being down."""

    unavailable: bool = False
    checked: list[str] = field(default_factory=list)

    async def check(self, api_key: Secret) -> KeyVerdict:
        self.checked.append(principal_id(api_key))
        if self.unavailable:
            return KeyVerdict(False, "CallScaler did not answer", unavailable=True)
        if api_key.reveal() == REVOKED_KEY:
            return KeyVerdict(False, "this key has been revoked")
        return KeyVerdict(api_key.reveal() in SANDBOX_KEYS.values(), "CallScaler does not know this key")


class Clock:
    """Starts at the real time (the SDK's token handler checks expiries on it) and moves only when told."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@dataclass
class Rig:
    provider: CallScalerOAuthProvider
    store: Store
    clock: Clock


def rig(store: Store | None = None, secret: ServerSecret | None = None, clock: Clock | None = None) -> Rig:
    clock = clock or Clock()
    store = store or SQLiteStore(MEMORY, wall=clock, monotonic=clock)
    provider = CallScalerOAuthProvider(
        store, secret or ServerSecret(), SandboxKeys(), PUBLIC_URL, clock=clock
    )
    return Rig(provider, store, clock)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


async def register(provider: CallScalerOAuthProvider, name: str = "Claude") -> OAuthClientInformationFull:
    client = OAuthClientInformationFull(
        client_id=secrets.token_hex(8),
        client_name=name,
        redirect_uris=[AnyUrl(REDIRECT)],
        token_endpoint_auth_method="none",
    )
    await provider.register_client(client)
    return client


async def consent_url(
    provider: CallScalerOAuthProvider, client: OAuthClientInformationFull, challenge: str = "c" * 43
) -> str:
    params = AuthorizationParams(
        state="state-1",
        scopes=[],
        code_challenge=challenge,
        redirect_uri=AnyUrl(REDIRECT),
        redirect_uri_provided_explicitly=True,
        resource=provider.resource_url,
    )
    return await provider.authorize(client, params)


def request_id(url: str) -> str:
    return parse_qs(urlsplit(url).query)["request"][0]


def query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


async def sign_in(
    provider: CallScalerOAuthProvider, client: OAuthClientInformationFull, key: Secret, role: Role
) -> tuple[str, str]:
    """Consent given and the code exchanged: (access token, refresh token)."""
    url = await provider.approve(request_id(await consent_url(provider, client)), key, role)
    assert url is not None
    code = await provider.load_authorization_code(client, query(url)["code"])
    assert code is not None
    tokens = await provider.exchange_authorization_code(client, code)
    assert tokens.refresh_token is not None
    return tokens.access_token, tokens.refresh_token


async def viewer_signed_in() -> tuple[Rig, OAuthClientInformationFull, str, str]:
    """A fresh provider with one client and one viewer signed in: (rig, client, access, refresh)."""
    rigged = rig()
    client = await register(rigged.provider)
    access, refresh = await sign_in(rigged.provider, client, VIEWER_KEY, Role.VIEWER)
    return rigged, client, access, refresh


async def principal_token(provider: CallScalerOAuthProvider, access: str) -> PrincipalToken:
    token = await provider.load_access_token(access)
    assert isinstance(token, PrincipalToken)
    return token


@pytest.mark.anyio
async def test_consent_issues_a_code_that_gives_the_principal_the_user_chose() -> None:
    provider = rig().provider
    client = await register(provider)
    url = await consent_url(provider, client)
    assert url.startswith(f"{PUBLIC_URL}{CONSENT_PATH}?request=")
    pending = await provider.pending(request_id(url))
    assert (
        pending is not None and pending.client_name == "Claude" and pending.redirect_host == "127.0.0.1:9999"
    )

    redirect = await provider.approve(request_id(url), MANAGER_KEY, Role.MANAGER)
    assert redirect is not None and redirect.startswith(REDIRECT) and query(redirect)["state"] == "state-1"
    code = await provider.load_authorization_code(client, query(redirect)["code"])
    assert code is not None
    tokens = await provider.exchange_authorization_code(client, code)
    assert tokens.expires_in == ACCESS_LIFETIME and tokens.refresh_token

    token = await principal_token(provider, tokens.access_token)
    assert token.principal.role is Role.MANAGER and token.principal.via == "oauth"
    assert token.principal.api_key.reveal() == MANAGER_KEY.reveal()
    assert token.client_id == client.client_id and token.subject == principal_id(MANAGER_KEY)
    assert token.resource == f"{PUBLIC_URL}/mcp"
    for shown in (repr(token), token.model_dump_json()):  # neither the key nor the bearer
        assert MANAGER_KEY.reveal() not in shown and tokens.access_token not in shown
    # The request is answered: a second approval (another tab) gets nothing.
    assert await provider.approve(request_id(url), MANAGER_KEY, Role.MANAGER) is None


@pytest.mark.anyio
async def test_codes_are_single_use_bound_to_their_client_and_expire() -> None:
    rigged = rig()
    provider = rigged.provider
    client, other = await register(provider), await register(provider, "Other")
    redirect = await provider.approve(
        request_id(await consent_url(provider, client)), VIEWER_KEY, Role.VIEWER
    )
    assert redirect is not None
    code_text = query(redirect)["code"]
    assert await provider.load_authorization_code(other, code_text) is None  # another client's code
    code = await provider.load_authorization_code(client, code_text)
    assert code is not None
    await provider.exchange_authorization_code(client, code)
    assert await provider.load_authorization_code(client, code_text) is None
    with pytest.raises(TokenError) as refused:  # replayed after it was loaded: the take fails
        await provider.exchange_authorization_code(client, code)
    assert refused.value.error == "invalid_grant"

    late = await provider.approve(request_id(await consent_url(provider, client)), VIEWER_KEY, Role.VIEWER)
    assert late is not None
    rigged.clock.now += CODE_LIFETIME + 1
    assert await provider.load_authorization_code(client, query(late)["code"]) is None


@pytest.mark.anyio
async def test_access_tokens_expire_and_refresh_rotates_both_tokens() -> None:
    rigged, client, access, refresh = await viewer_signed_in()
    provider = rigged.provider
    rigged.clock.now += ACCESS_LIFETIME + 1
    assert await provider.load_access_token(access) is None

    loaded = await provider.load_refresh_token(client, refresh)
    assert loaded is not None
    renewed = await provider.exchange_refresh_token(client, loaded, loaded.scopes)
    assert renewed.access_token != access and renewed.refresh_token not in (None, refresh)
    assert (await principal_token(provider, renewed.access_token)).principal.role is Role.VIEWER
    with pytest.raises(TokenError):  # the same refresh token exchanged twice (a race): one wins
        await provider.exchange_refresh_token(client, loaded, loaded.scopes)


@pytest.mark.anyio
async def test_a_rotated_refresh_token_used_again_revokes_the_whole_grant() -> None:
    rigged, client, access, refresh = await viewer_signed_in()
    provider = rigged.provider
    loaded = await provider.load_refresh_token(client, refresh)
    assert loaded is not None
    renewed = await provider.exchange_refresh_token(client, loaded, [])
    assert await provider.load_access_token(access) is None  # the old access token ended with it

    assert await provider.load_refresh_token(client, refresh) is None  # the stolen copy...
    assert await provider.load_access_token(renewed.access_token) is None  # ...ends the grant
    assert renewed.refresh_token and await provider.load_refresh_token(client, renewed.refresh_token) is None
    assert await rigged.store.get(f"oauth:vault:{loaded.grant_id}") is None


@pytest.mark.anyio
async def test_refresh_tokens_belong_to_their_client() -> None:
    provider = rig().provider
    client, other = await register(provider), await register(provider, "Other")
    _, refresh = await sign_in(provider, client, VIEWER_KEY, Role.VIEWER)
    assert await provider.load_refresh_token(other, refresh) is None
    assert await provider.load_refresh_token(client, refresh) is not None


@pytest.mark.anyio
async def test_revoking_either_token_deletes_the_key_and_every_token_of_the_grant() -> None:
    rigged = rig()
    provider = rigged.provider
    client = await register(provider)
    for revoke_with in ("access", "refresh"):
        access, refresh = await sign_in(provider, client, MANAGER_KEY, Role.MANAGER)
        token = await provider.load_access_token(access)
        loaded = await provider.load_refresh_token(client, refresh)
        assert token is not None and loaded is not None
        await provider.revoke_token(token if revoke_with == "access" else loaded)
        assert await provider.load_access_token(access) is None
        assert await provider.load_refresh_token(client, refresh) is None
        assert await rigged.store.get(f"oauth:vault:{loaded.grant_id}") is None
        assert await rigged.store.get(f"oauth:grant:{loaded.grant_id}") is None
        await provider.revoke_token(token)  # revoking again is a no-op (RFC 7009)


@pytest.mark.anyio
async def test_two_users_tokens_never_give_each_others_principal() -> None:
    provider = rig().provider
    client = await register(provider)
    viewer_access, _ = await sign_in(provider, client, VIEWER_KEY, Role.VIEWER)
    manager_access, _ = await sign_in(provider, client, MANAGER_KEY, Role.MANAGER)
    viewer = await principal_token(provider, viewer_access)
    manager = await principal_token(provider, manager_access)
    assert (viewer.principal.api_key.reveal(), viewer.principal.role) == (VIEWER_KEY.reveal(), Role.VIEWER)
    assert (manager.principal.api_key.reveal(), manager.principal.role) == (
        MANAGER_KEY.reveal(),
        Role.MANAGER,
    )
    assert viewer.subject != manager.subject
    # A token altered by one character is nobody's.
    assert (
        await provider.load_access_token(viewer_access[:-1] + ("A" if viewer_access[-1] != "A" else "B"))
        is None
    )


@pytest.mark.anyio
async def test_keys_and_tokens_are_not_stored_in_clear(tmp_path: Path) -> None:
    clock = Clock()
    database = tmp_path / "state.sqlite3"
    provider = rig(SQLiteStore(str(database), wall=clock, monotonic=clock), clock=clock).provider
    client = await register(provider)
    secret_key = Secret("cs_key_live_" + secrets.token_hex(16))
    access, refresh = await sign_in(provider, client, secret_key, Role.VIEWER)
    stored = database.read_bytes() + (tmp_path / "state.sqlite3-wal").read_bytes()
    for clear in (secret_key.reveal(), access, refresh):
        assert clear.encode() not in stored


@pytest.mark.anyio
async def test_a_rotated_server_secret_signs_everyone_out_without_a_crash() -> None:
    clock = Clock()
    store = SQLiteStore(MEMORY, wall=clock, monotonic=clock)
    before = rig(store, ServerSecret(Secret(secrets.token_hex(32))), clock).provider
    client = await register(before)
    access, refresh = await sign_in(before, client, VIEWER_KEY, Role.VIEWER)
    loaded = await before.load_refresh_token(client, refresh)
    assert loaded is not None

    rotated = ServerSecret(Secret(secrets.token_hex(32)))
    after = rig(store, rotated, clock).provider
    assert await after.get_client(str(client.client_id)) is not None  # registrations hold no secret of ours
    assert await after.load_access_token(access) is None
    assert await after.load_refresh_token(client, refresh) is None
    with pytest.raises(TokenError):  # even a refresh token loaded before: its key cannot be opened
        await after.exchange_refresh_token(client, loaded, [])
    assert await Vault(store, rotated).get(loaded.grant_id) is None


@pytest.mark.anyio
async def test_a_sealed_key_moved_to_another_grant_does_not_open() -> None:
    store = SQLiteStore(MEMORY)
    vault = Vault(store, ServerSecret())
    await vault.put("grant-a", VIEWER_KEY, 60)
    sealed = await store.get("oauth:vault:grant-a")
    assert sealed is not None and VIEWER_KEY.reveal() not in sealed
    await store.put("oauth:vault:grant-b", sealed, 60)
    assert await vault.get("grant-b") is None
    await store.put("oauth:vault:grant-c", "not base64!", 60)
    assert await vault.get("grant-c") is None
    assert (opened := await vault.get("grant-a")) is not None and opened.reveal() == VIEWER_KEY.reveal()
    await vault.delete("grant-a")
    assert await vault.get("grant-a") is None


@pytest.mark.anyio
async def test_only_foreign_tokens_reach_the_fallback() -> None:
    asked: list[str] = []

    class HeaderMode:
        async def verify_token(self, token: str) -> AccessToken | None:
            asked.append(token)
            return AccessToken(token="header:x", client_id="header", scopes=[])

    clock = Clock()
    provider = CallScalerOAuthProvider(
        SQLiteStore(MEMORY, wall=clock, monotonic=clock),
        ServerSecret(),
        SandboxKeys(),
        PUBLIC_URL,
        HeaderMode(),
    )
    assert await provider.load_access_token("cs_key_sandbox_viewer") is not None
    # Ours, unknown or expired, or a refresh token (as the revocation endpoint tries): never sent on to
    # header mode, which would check it with CallScaler as if it were a key.
    assert await provider.load_access_token("csmcp_at_unknown") is None
    assert await provider.load_access_token(REFRESH_PREFIX + "unknown") is None
    assert asked == ["cs_key_sandbox_viewer"]


@pytest.mark.anyio
async def test_tokens_are_issued_for_this_server_only_and_deny_says_access_denied() -> None:
    provider = rig().provider
    client = await register(provider)
    params = AuthorizationParams(
        state="s",
        scopes=[],
        code_challenge="c" * 43,
        redirect_uri=AnyUrl(REDIRECT),
        redirect_uri_provided_explicitly=True,
        resource="https://elsewhere.example/mcp",
    )
    with pytest.raises(AuthorizeError) as refused:
        await provider.authorize(client, params)
    assert refused.value.error == "invalid_target"

    url = await consent_url(provider, client)
    denied = await provider.deny(request_id(url))
    assert (
        denied is not None
        and query(denied)["error"] == "access_denied"
        and query(denied)["state"] == "state-1"
    )
    assert await provider.pending(request_id(url)) is None
    assert await provider.approve(request_id(url), VIEWER_KEY, Role.VIEWER) is None


def sdk_routes(provider: CallScalerOAuthProvider) -> httpx.AsyncClient:
    """An HTTP client of the SDK's auth endpoints (/token, /revoke, ...) in front of `provider`."""
    app = Starlette(
        routes=create_auth_routes(
            provider,
            AnyHttpUrl(PUBLIC_URL),
            client_registration_options=ClientRegistrationOptions(enabled=True),
            revocation_options=RevocationOptions(enabled=True),
        )
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=PUBLIC_URL)


@pytest.mark.anyio
async def test_the_token_endpoint_refuses_a_wrong_pkce_verifier() -> None:
    """PKCE is checked by the SDK's token handler, in front of the provider: through HTTP."""
    provider = rig().provider
    client = await register(provider)
    verifier, challenge = pkce()
    redirect = await provider.approve(
        request_id(await consent_url(provider, client, challenge)), VIEWER_KEY, Role.VIEWER
    )
    assert redirect is not None
    form = {
        "grant_type": "authorization_code",
        "code": query(redirect)["code"],
        "redirect_uri": REDIRECT,
        "client_id": str(client.client_id),
    }
    async with sdk_routes(provider) as http:
        wrong = await http.post("/token", data={**form, "code_verifier": pkce()[0]})
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        assert "access_token" not in wrong.json()
        right = await http.post("/token", data={**form, "code_verifier": verifier})
        assert right.status_code == 200 and right.json()["access_token"].startswith("csmcp_at_")
        again = await http.post("/token", data={**form, "code_verifier": verifier})
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


@pytest.mark.anyio
async def test_the_revocation_endpoint_ends_the_grant_for_its_own_client_only() -> None:
    rigged = rig()
    provider = rigged.provider
    client, other = await register(provider), await register(provider, "Other")
    access, refresh = await sign_in(provider, client, VIEWER_KEY, Role.VIEWER)
    loaded = await provider.load_refresh_token(client, refresh)
    assert loaded is not None

    def revoke(token: str, by: OAuthClientInformationFull) -> dict[str, str]:
        return {"token": token, "client_id": str(by.client_id), "client_secret": ""}  # public clients

    async with sdk_routes(provider) as http:
        # Another client cannot revoke this one's grant (RFC 7009 2.1): answered 200, nothing done.
        assert (await http.post("/revoke", data=revoke(access, other))).status_code == 200
        assert await provider.load_access_token(access) is not None
        assert (await http.post("/revoke", data=revoke(refresh, client))).status_code == 200
    assert await provider.load_access_token(access) is None
    assert await rigged.store.get(f"oauth:vault:{loaded.grant_id}") is None
