"""The whole OAuth flow as a person and their app live it: the SDK's OAuth client starts it, a real
Chromium opens the consent page, the user pastes a key (a wrong one first), picks a role and approves;
the client then lists tools and calls one as that principal. Also in the browser: Deny, a forged CSRF
token, and no Content-Security-Policy violations. Screenshots: oauth-consent, oauth-consent-error.

The server under test is the real thing: `cs-mcp serve --transport http --hosted` in front of a
`cs-mcp sandbox` REST API (tests/test_hosted.py's `Hosted`), so the key pasted on the consent page is
checked against that API."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import httpx2
import pytest
import uvicorn
from mcp.client import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from pydantic import AnyUrl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from cs_mcp.hosted.connections import CONNECTIONS_PATH
from cs_mcp.hosted.oauth import ACCESS_LIFETIME, CONSENT_PATH
from cs_mcp.sandbox.auth import SANDBOX_KEYS
from tests import fleet
from tests.browser import chromium, screenshot
from tests.fleet import free_port, wait_until
from tests.test_hosted import Hosted, initialize
from tests.test_oauth_provider import pkce, query


def callback_app(base: str) -> Starlette:
    """The app's own redirect target (a desktop app's loopback listener), on another origin than cs_mcp."""

    async def landed(request: Request) -> PlainTextResponse:
        return PlainTextResponse("Signed in; you can close this tab.")

    return Starlette(routes=[Route("/callback", landed)])


@contextmanager
def serving(build: Callable[[str], Any]) -> Iterator[str]:
    """The app `build(base_url)` makes, served by uvicorn on a loopback port; its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(uvicorn.Config(build(base), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, "the test server")
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(30)


class MemoryTokens:
    """The OAuth client's token storage, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


def csp_violations(console: list[str]) -> list[str]:
    return [line for line in console if "Content Security Policy" in line]


async def new_page(browser: Any) -> tuple[Any, list[str]]:
    page = await (await browser.new_context()).new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    return page, console


@pytest.fixture(scope="module")
def hosted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The hosted server's base URL."""
    server = Hosted(tmp_path_factory.mktemp("oauth"))
    try:
        yield server.base
    finally:
        server.close()


@pytest.mark.anyio
async def test_a_user_signs_in_through_the_consent_page_and_the_client_acts_as_them(hosted: str) -> None:
    base = hosted
    with serving(callback_app) as app_base:
        async with chromium() as browser:
            page, console = await new_page(browser)

            async def user_consents(authorization_url: str) -> None:
                await page.goto(authorization_url)  # /authorize sends the browser on to the consent page
                assert page.url.startswith(f"{base}{CONSENT_PATH}?request=")
                assert await page.get_by_role("heading", level=1).inner_text() == (
                    "Connect Test connector to your CallScaler account"
                )
                await screenshot(page, "oauth-consent")
                await page.get_by_label("CallScaler API key").fill("cs_key_not_a_real_key_0000")
                await page.get_by_label("The key's role").select_option("manager")
                await page.get_by_role("button", name="Approve").click()
                assert "did not accept this API key" in await page.get_by_role("alert").inner_text()
                assert page.url.startswith(base)  # still on cs_mcp: no code went to the app
                await screenshot(page, "oauth-consent-error")
                await page.get_by_label("CallScaler API key").fill(SANDBOX_KEYS["manager"])
                async with page.expect_navigation(url=f"{app_base}/callback?*"):
                    await page.get_by_role("button", name="Approve").click()

            async with connector(base, app_base, page, user_consents) as client:
                names = {tool.name for tool in (await client.list_tools()).tools}
                assert {"send_sms", "purchase_number", "list_numbers"} <= names  # the manager role's tools
                answer = await client.call_tool("get_capabilities", {})
                assert answer.structured_content is not None
                assert answer.structured_content["role"] == "manager"
            assert csp_violations(console) == []

            unauthenticated = httpx.post(f"{base}/mcp", json={}, timeout=10)
            assert unauthenticated.status_code == 401
            assert "resource_metadata=" in unauthenticated.headers["www-authenticate"]


@asynccontextmanager
async def connector(
    base: str,
    app_base: str,
    page: Any,
    user_consents: Callable[[str], Awaitable[None]],
    *,
    tokens: MemoryTokens | None = None,
    app_name: str = "Test connector",
) -> AsyncIterator[Client]:
    """An app signed in through OAuth as Claude's connectors are: the SDK's OAuth client registers, sends
    the browser (`page`) to `user_consents`, then reads the code from the page the browser lands on.
    With `tokens` holding an earlier sign-in, the app uses it and asks the user only if it must."""

    async def app_reads_the_redirect() -> AuthorizationCodeResult:
        landed = query(page.url)
        return AuthorizationCodeResult(code=landed["code"], state=landed.get("state"))

    oauth = OAuthClientProvider(
        f"{base}/mcp",
        OAuthClientMetadata(client_name=app_name, redirect_uris=[AnyUrl(f"{app_base}/callback")]),
        tokens or MemoryTokens(),
        redirect_handler=user_consents,
        callback_handler=app_reads_the_redirect,
    )
    async with (
        httpx2.AsyncClient(auth=oauth, timeout=60) as http,
        Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client,
    ):
        yield client


def consents_with(page: Any, app_base: str, key: str, role: str) -> Callable[[str], Awaitable[None]]:
    """A user who pastes `key`, picks `role` and approves."""

    async def user_consents(authorization_url: str) -> None:
        await page.goto(authorization_url)
        await page.get_by_label("CallScaler API key").fill(key)
        await page.get_by_label("The key's role").select_option(role)
        async with page.expect_navigation(url=f"{app_base}/callback?*"):
            await page.get_by_role("button", name="Approve").click()

    return user_consents


async def authorization_url(base: str, callback: str) -> str:
    """What an app sends the browser to, after registering itself (RFC 7591)."""
    async with httpx.AsyncClient(timeout=10) as http:
        registered = await http.post(
            f"{base}/register",
            json={
                "client_name": "Test connector",
                "redirect_uris": [callback],
                "token_endpoint_auth_method": "none",
            },
        )
    assert registered.status_code == 201
    _, challenge = pkce()
    return f"{base}/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": registered.json()["client_id"],
            "redirect_uri": callback,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "app-state",
        }
    )


@pytest.mark.anyio
async def test_deny_returns_access_denied_and_a_forged_csrf_token_is_refused_in_the_browser(
    hosted: str,
) -> None:
    base = hosted
    with serving(callback_app) as app_base:
        callback = f"{app_base}/callback"
        async with chromium() as browser:
            page, console = await new_page(browser)
            await page.goto(await authorization_url(base, callback))
            async with page.expect_navigation(url=f"{callback}?*"):
                await page.get_by_role("button", name="Deny").click()
            landed = query(page.url)
            assert (
                landed["error"] == "access_denied" and landed["state"] == "app-state" and "code" not in landed
            )

            await page.goto(await authorization_url(base, callback))
            # What a page on another site would post: the form without this page's token.
            await page.locator("input[name=csrf]").evaluate("input => { input.value = 'forged.1.x' }")
            await page.get_by_label("CallScaler API key").fill(SANDBOX_KEYS["owner"])
            await page.get_by_role("button", name="Approve").click()
            assert "could not be verified" in await page.get_by_role("alert").inner_text()
            assert page.url == f"{base}{CONSENT_PATH}"  # refused on cs_mcp; nothing went to the app
            await screenshot(page, "oauth-consent-refused")
            assert csp_violations(console) == []


async def nobody_there(authorization_url: str) -> None:
    raise AssertionError("the app asked the user to sign in again")


def answers_mcp(base: str, access_token: str) -> int:
    """The status /mcp answers an initialize carrying `access_token`."""
    return initialize(base, Authorization=f"Bearer {access_token}").status_code


@pytest.mark.anyio
async def test_a_person_sees_both_apps_they_connected_and_disconnects_them_on_the_connections_page(
    hosted: str,
) -> None:
    base = hosted
    claude, cursor = MemoryTokens(), MemoryTokens()
    with serving(callback_app) as app_base:
        async with chromium() as browser:
            page, console = await new_page(browser)
            consents = consents_with(page, app_base, SANDBOX_KEYS["admin"], "admin")
            for tokens, app in ((claude, "Claude"), (cursor, "Cursor")):
                async with connector(base, app_base, page, consents, tokens=tokens, app_name=app) as client:
                    assert "purchase_number" in {tool.name for tool in (await client.list_tools()).tools}

            await page.goto(f"{base}{CONNECTIONS_PATH}")
            assert await page.get_by_role("heading", level=1).inner_text() == (
                "Apps connected to your CallScaler account"
            )
            assert await page.get_by_role("heading", level=2).all_inner_texts() == ["Cursor", "Claude"]
            await screenshot(page, "oauth-connections")
            await page.get_by_role("button", name="Disconnect Cursor").click()
            assert await page.get_by_role("status").inner_text() == "Disconnected."
            assert await page.get_by_role("heading", level=2).all_inner_texts() == ["Claude"]
            assert cursor.tokens is not None and claude.tokens is not None
            assert answers_mcp(base, cursor.tokens.access_token) == 401
            # Claude's sign-in still works, without asking anyone.
            async with connector(
                base, app_base, page, nobody_there, tokens=claude, app_name="Claude"
            ) as client:
                assert (await client.call_tool("get_capabilities", {})).structured_content["role"] == "admin"

            await page.goto(f"{base}{CONNECTIONS_PATH}")
            await page.get_by_role("button", name="Disconnect all").click()
            assert await page.get_by_role("status").inner_text() == "Disconnected 1 app."
            assert "No apps are connected" in await page.inner_text("main")
            assert answers_mcp(base, claude.tokens.access_token) == 401

            stranger, _ = await new_page(browser)  # another browser: no session cookie
            await stranger.goto(f"{base}{CONNECTIONS_PATH}")
            assert "not signed in" in await stranger.get_by_role("alert").inner_text()
            await screenshot(stranger, "oauth-connections-signed-out")
            assert csp_violations(console) == []


class AppClock:
    """The app's clock (the SDK's OAuth client decides by it when a token has expired), moved on at will;
    the server keeps real time."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def time(self) -> float:
        return time.time() + self.ahead


@pytest.mark.anyio
async def test_an_expired_token_is_refreshed_without_the_user_and_a_revoked_one_is_refused(
    hosted: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, tokens, asked = hosted, MemoryTokens(), []
    clock = AppClock()
    monkeypatch.setattr("mcp.client.auth.oauth2.time", clock)
    monkeypatch.setattr("mcp.shared.auth_utils.time", clock)
    with serving(callback_app) as app_base:
        async with chromium() as browser:
            page, _ = await new_page(browser)
            consents = consents_with(page, app_base, SANDBOX_KEYS["viewer"], "viewer")

            async def user(authorization_url: str) -> None:
                asked.append(authorization_url)
                await consents(authorization_url)

            async with connector(base, app_base, page, user, tokens=tokens) as client:
                await client.list_tools()
                first = tokens.tokens
                assert first is not None and first.expires_in == ACCESS_LIFETIME and len(asked) == 1

                clock.ahead = ACCESS_LIFETIME + 1  # an hour later, for the app
                assert (await client.call_tool("get_capabilities", {})).structured_content["role"] == "viewer"
                renewed = tokens.tokens
                assert renewed is not None and len(asked) == 1  # refreshed by the app alone
                assert renewed.access_token != first.access_token
                assert renewed.refresh_token not in (None, first.refresh_token)
                assert answers_mcp(base, first.access_token) == 401  # rotated out with its refresh token
                assert answers_mcp(base, renewed.access_token) == 200

                assert tokens.client is not None and renewed.refresh_token is not None
                revoked = httpx.post(
                    f"{base}/revoke",
                    data={  # as the app signs out (RFC 7009), with the credentials it registered
                        "token": renewed.refresh_token,
                        "client_id": str(tokens.client.client_id),
                        "client_secret": tokens.client.client_secret or "",
                    },
                    timeout=10,
                )
                assert revoked.status_code == 200
                assert answers_mcp(base, renewed.access_token) == 401
                # The app finds itself signed out: it can only send the user to sign in again.
                await client.list_tools()
                assert len(asked) == 2


@pytest.mark.anyio
async def test_replicas_sharing_redis_honour_each_others_sign_ins_and_revocations(
    tmp_path: Path,
) -> None:
    """Two hosted replicas behind one public URL, one Redis, one CS_MCP_SECRET: a sign-in made on one is
    honoured by the other, and revoking it on the other ends it everywhere."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    api = fleet.Sandbox()
    replicas: list[Hosted] = []
    try:
        with fleet.running_redis(tmp_path) as redis:
            first = Hosted(tmp_path / "a", api=api, state=redis.url)
            replicas.append(first)
            # Behind a proxy both answer to the same public URL: the issuer every token names.
            second = Hosted(tmp_path / "b", "--public-url", first.base, api=api, state=redis.url)
            replicas.append(second)
            tokens = MemoryTokens()
            with serving(callback_app) as app_base:
                async with chromium() as browser:
                    page, _ = await new_page(browser)
                    consents = consents_with(page, app_base, SANDBOX_KEYS["manager"], "manager")
                    async with connector(first.base, app_base, page, consents, tokens=tokens) as client:
                        await client.list_tools()
            assert tokens.tokens is not None and tokens.client is not None
            access = tokens.tokens.access_token
            assert answers_mcp(second.base, access) == 200

            revoked = httpx.post(
                f"{second.base}/revoke",
                data={
                    "token": access,
                    "client_id": str(tokens.client.client_id),
                    "client_secret": tokens.client.client_secret or "",
                },
                timeout=10,
            )
            assert revoked.status_code == 200
            assert answers_mcp(first.base, access) == 401 and answers_mcp(second.base, access) == 401
    finally:
        for replica in replicas:
            replica.close()
        api.close()
