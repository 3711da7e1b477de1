"""The consent page over HTTP (no browser): CSRF bound to the request and to this browser, the key
checked before any code, the session cookie on approval, the app's name escaped. The browser walk is
in test_oauth_browser.py."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from cs_mcp.hosted.consent import CONSENT_COOKIE, consent_routes
from cs_mcp.hosted.oauth import CONSENT_PATH, CallScalerOAuthProvider
from cs_mcp.hosted.principal import principal_id
from cs_mcp.sandbox.auth import SANDBOX_KEYS
from cs_mcp.secrets import Secret
from cs_mcp.state import MEMORY, SQLiteStore
from cs_mcp.web.signing import SESSION_COOKIE, ServerSecret, SignedValues
from tests.test_oauth_provider import REDIRECT, SandboxKeys, consent_url, query, register, request_id

PUBLIC_URL = "https://mcp.example.com"
HOSTILE_NAME = '<script>alert("x")</script>Claude'


@dataclass
class Browser:
    http: httpx.AsyncClient
    provider: CallScalerOAuthProvider
    keys: SandboxKeys
    secret: ServerSecret

    async def open_consent(self, client_name: str = "Claude") -> tuple[str, str, httpx.Response]:
        """A new authorization request shown: (request id, CSRF token, the page)."""
        client = await register(self.provider, client_name)
        url = await consent_url(self.provider, client)
        page = await self.http.get(url)
        assert page.status_code == 200
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found is not None
        return request_id(url), found.group(1), page

    async def post(self, **form: str) -> httpx.Response:
        return await self.http.post(CONSENT_PATH, data=form)


@asynccontextmanager
async def browser() -> AsyncIterator[Browser]:
    secret, keys = ServerSecret(), SandboxKeys()
    provider = CallScalerOAuthProvider(SQLiteStore(MEMORY), secret, keys, PUBLIC_URL)
    app = Starlette(routes=consent_routes(provider))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=PUBLIC_URL) as http:
        yield Browser(http, provider, keys, secret)


def cookie_attributes(response: httpx.Response, name: str) -> str:
    (header,) = [value for value in response.headers.get_list("set-cookie") if value.startswith(f"{name}=")]
    return header.lower()


@pytest.mark.anyio
async def test_the_page_names_the_app_escaped_and_allows_posting_back_to_it_only() -> None:
    async with browser() as user:
        _, _, page = await user.open_consent(HOSTILE_NAME)
        assert HOSTILE_NAME not in page.text and "&lt;script&gt;" in page.text
        assert "127.0.0.1:9999" in page.text  # where the browser will be sent back
        policy = page.headers["content-security-policy"]
        assert "form-action 'self' http://127.0.0.1:9999;" in policy and "script-src" not in policy
        assert '<label for="api_key">' in page.text and 'type="password"' in page.text
        consent_cookie = cookie_attributes(page, CONSENT_COOKIE)
        for attribute in ("httponly", "samesite=strict", "secure", f"path={CONSENT_PATH}"):
            assert attribute in consent_cookie

        gone = await user.http.get(f"{CONSENT_PATH}?request=nope")
        assert gone.status_code == 404 and 'role="alert"' in gone.text


@pytest.mark.anyio
async def test_a_missing_forged_or_moved_csrf_token_is_refused_and_nothing_is_issued() -> None:
    async with browser() as user:
        request, csrf, _ = await user.open_consent()
        other_request, other_csrf, _ = await user.open_consent()
        approve = {
            "request": request,
            "api_key": SANDBOX_KEYS["manager"],
            "role": "manager",
            "action": "approve",
        }
        for attempt in (
            approve,
            {**approve, "csrf": csrf[:-2] + "xx"},
            {**approve, "csrf": other_csrf},  # a real token, for another request
        ):
            refused = await user.post(**attempt)
            assert refused.status_code == 403 and 'role="alert"' in refused.text
        # The right token from a browser without this page's cookie (another site posting the form).
        user.http.cookies.clear()
        assert (await user.post(**approve, csrf=csrf)).status_code == 403
        assert user.keys.checked == []  # the key was never even checked
        assert await user.provider.pending(request) is not None and await user.provider.pending(other_request)


@pytest.mark.anyio
async def test_a_wrong_key_shows_the_error_again_without_echoing_it_and_issues_nothing() -> None:
    async with browser() as user:
        request, csrf, _ = await user.open_consent()
        wrong = "cs_key_nottherightone_12345"
        page = await user.post(request=request, csrf=csrf, api_key=wrong, role="manager", action="approve")
        assert page.status_code == 400 and "location" not in page.headers
        assert 'role="alert"' in page.text and "did not accept this API key" in page.text
        assert wrong not in page.text and '<option value="manager" selected>' in page.text
        assert SESSION_COOKIE not in page.headers.get("set-cookie", "")
        assert await user.provider.pending(request) is not None

        empty = await user.post(request=request, csrf=csrf, api_key=" ", role="viewer", action="approve")
        assert empty.status_code == 400 and "Paste your CallScaler API key" in empty.text
        bad_role = await user.post(
            request=request, csrf=csrf, api_key=SANDBOX_KEYS["viewer"], role="root", action="approve"
        )
        assert bad_role.status_code == 400

        user.keys.unavailable = True
        down = await user.post(
            request=request, csrf=csrf, api_key=SANDBOX_KEYS["viewer"], role="viewer", action="approve"
        )
        assert down.status_code == 503 and "could not be reached" in down.text
        assert await user.provider.pending(request) is not None


@pytest.mark.anyio
async def test_approval_redirects_with_a_code_and_sets_the_browser_session_cookie() -> None:
    async with browser() as user:
        request, csrf, _ = await user.open_consent()
        key = SANDBOX_KEYS["manager"]
        answer = await user.post(request=request, csrf=csrf, api_key=key, role="manager", action="approve")
        assert answer.status_code == 303
        location = answer.headers["location"]
        assert (
            location.startswith(REDIRECT)
            and query(location)["state"] == "state-1"
            and query(location)["code"]
        )
        session = cookie_attributes(answer, SESSION_COOKIE)
        for attribute in ("httponly", "samesite=lax", "secure", "path=/;"):
            assert attribute in session + ";"
        value = answer.cookies[SESSION_COOKIE]
        assert SignedValues(user.secret.derive("cookie")).check(value) == principal_id(Secret(key))
        assert key not in str(answer.headers)
        # The same form again (back button, double click): the request is answered.
        again = await user.post(request=request, csrf=csrf, api_key=key, role="manager", action="approve")
        assert again.status_code == 404 and "already answered" in again.text


@pytest.mark.anyio
async def test_deny_sends_access_denied_back_and_sets_no_session() -> None:
    async with browser() as user:
        request, csrf, _ = await user.open_consent()
        answer = await user.post(request=request, csrf=csrf, action="deny")
        assert answer.status_code == 303
        location = answer.headers["location"]
        assert urlsplit(location).netloc == "127.0.0.1:9999" and query(location)["error"] == "access_denied"
        assert "code" not in query(location) and SESSION_COOKIE not in answer.headers.get("set-cookie", "")
        assert user.keys.checked == []
