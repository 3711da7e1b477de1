"""The connections page over HTTP (no browser): a person signed in at consent sees their own sign-ins and
ends them; without the session cookie, with a forged one, with a missing or moved CSRF token, or naming
another person's grant, nothing ends. The browser walk is in test_oauth_browser.py."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from starlette.applications import Starlette

from cs_mcp.hosted.connections import CONNECTIONS_PATH, connections_routes
from cs_mcp.hosted.grant_index import PRUNE_AT
from cs_mcp.hosted.principal import principal_id
from cs_mcp.secrets import Secret
from cs_mcp.spec import Role
from cs_mcp.web.signing import SESSION_COOKIE, ServerSecret, SignedValues
from tests.test_oauth_provider import MANAGER_KEY, PUBLIC_URL, VIEWER_KEY, Rig, register, rig, sign_in

pytestmark = pytest.mark.anyio


@dataclass
class Signed:
    """One sign-in: the grant's access and refresh tokens."""

    access: str
    refresh: str


@dataclass
class Site:
    rig: Rig
    secret: ServerSecret
    http: httpx.AsyncClient

    async def sign_in(self, key: Secret, role: Role, app: str = "Claude") -> Signed:
        client = await register(self.rig.provider, app)
        return Signed(*await sign_in(self.rig.provider, client, key, role))

    def browser_of(self, key: Secret) -> None:
        """This browser carries the session cookie consent sets for `key`'s principal."""
        cookie = SignedValues(self.secret.derive("cookie")).sign(principal_id(key), 3600)
        self.http.cookies.set(SESSION_COOKIE, cookie)

    async def page(self) -> httpx.Response:
        page = await self.http.get(CONNECTIONS_PATH)
        assert page.status_code == 200
        return page

    async def works(self, signed: Signed) -> bool:
        return await self.rig.provider.load_access_token(signed.access) is not None


@asynccontextmanager
async def site() -> AsyncIterator[Site]:
    secret = ServerSecret()
    rigged = rig(secret=secret)
    app = Starlette(routes=connections_routes(rigged.provider))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=PUBLIC_URL) as http:
        yield Site(rigged, secret, http)


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def grant_ids(page: httpx.Response) -> list[str]:
    return re.findall(r'name="grant" value="([^"]+)"', page.text)


async def test_without_the_session_cookie_the_page_says_to_sign_in_and_posts_end_nothing() -> None:
    async with site() as web:
        mine = await web.sign_in(VIEWER_KEY, Role.VIEWER)
        page = await web.page()
        assert "not signed in" in page.text and 'role="alert"' in page.text and "<form" not in page.text
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        # A forged cookie: the right principal id, not signed by this server.
        web.http.cookies.set(SESSION_COOKIE, f"{principal_id(VIEWER_KEY)}.9999999999.forged")
        assert "not signed in" in (await web.page()).text
        refused = await web.http.post(CONNECTIONS_PATH, data={"all": "1", "csrf": "x"})
        assert refused.status_code == 403 and await web.works(mine)


async def test_a_person_sees_their_own_sign_ins_newest_first_and_never_a_key() -> None:
    async with site() as web:
        key = Secret("cs_key_live_" + secrets.token_hex(16))
        await web.sign_in(key, Role.VIEWER, "Claude")
        web.rig.clock.now += 60
        await web.sign_in(key, Role.MANAGER, "<b>Cursor</b>")
        await web.sign_in(MANAGER_KEY, Role.MANAGER, "Someone else's app")
        web.browser_of(key)
        page = await web.page()
        assert len(grant_ids(page)) == 2 and "Someone else" not in page.text
        assert page.text.index("&lt;b&gt;Cursor&lt;/b&gt;") < page.text.index("Claude")
        assert "<b>Cursor</b>" not in page.text
        assert "<dd>manager</dd>" in page.text and "<dd>viewer</dd>" in page.text
        assert key.reveal() not in page.text and key.reveal()[-8:] not in page.text
        assert "Disconnect all" in page.text


async def test_disconnecting_ends_that_grant_its_key_and_tokens_and_no_other() -> None:
    async with site() as web:
        first = await web.sign_in(VIEWER_KEY, Role.VIEWER, "Claude")
        second = await web.sign_in(VIEWER_KEY, Role.VIEWER, "Cursor")
        web.browser_of(VIEWER_KEY)
        page = await web.page()
        ended, kept = grant_ids(page)  # newest first: Cursor's, then Claude's
        answer = await web.http.post(CONNECTIONS_PATH, data={"grant": ended, "csrf": csrf_of(page)})
        assert answer.status_code == 200 and 'role="status"' in answer.text and "Disconnected." in answer.text
        assert grant_ids(answer) == [kept]
        assert not await web.works(second) and await web.works(first)
        assert await web.rig.store.get(f"oauth:vault:{ended}") is None
        assert await web.rig.store.get(f"oauth:grant:{ended}") is None


async def test_another_persons_grant_id_posted_with_my_cookie_ends_nothing() -> None:
    async with site() as web:
        theirs = await web.sign_in(MANAGER_KEY, Role.MANAGER)
        web.browser_of(MANAGER_KEY)
        their_grant = grant_ids(await web.page())[0]
        mine = await web.sign_in(VIEWER_KEY, Role.VIEWER)
        web.browser_of(VIEWER_KEY)
        page = await web.page()
        answer = await web.http.post(CONNECTIONS_PATH, data={"grant": their_grant, "csrf": csrf_of(page)})
        assert answer.status_code == 200 and "already ended" in answer.text
        assert await web.works(theirs) and await web.works(mine)


async def test_a_missing_forged_or_moved_csrf_token_ends_nothing() -> None:
    async with site() as web:
        theirs = await web.sign_in(MANAGER_KEY, Role.MANAGER)
        web.browser_of(MANAGER_KEY)
        their_token = csrf_of(await web.page())  # valid, but bound to another browser session
        mine = await web.sign_in(VIEWER_KEY, Role.VIEWER)
        web.browser_of(VIEWER_KEY)
        my_token = csrf_of(await web.page())
        for form in (
            {"all": "1"},
            {"all": "1", "csrf": my_token[:-2] + "xx"},
            {"all": "1", "csrf": their_token},
        ):
            refused = await web.http.post(CONNECTIONS_PATH, data=form)
            assert refused.status_code == 403 and "could not be verified" in refused.text
        assert await web.works(mine) and await web.works(theirs)


async def test_disconnect_all_ends_every_sign_in_of_mine_only() -> None:
    async with site() as web:
        mine = [await web.sign_in(VIEWER_KEY, Role.VIEWER, app) for app in ("Claude", "Cursor", "Zed")]
        theirs = await web.sign_in(MANAGER_KEY, Role.MANAGER)
        web.browser_of(VIEWER_KEY)
        answer = await web.http.post(CONNECTIONS_PATH, data={"all": "1", "csrf": csrf_of(await web.page())})
        assert "Disconnected 3 apps." in answer.text and "No apps are connected" in answer.text
        assert [await web.works(signed) for signed in mine] == [False] * 3 and await web.works(theirs)


async def test_sign_ins_ended_elsewhere_drop_off_the_page_and_the_index() -> None:
    async with site() as web:
        signed = await web.sign_in(VIEWER_KEY, Role.VIEWER)
        token = await web.rig.provider.load_access_token(signed.access)
        assert token is not None
        await web.rig.provider.revoke_token(token)  # the app signed out (RFC 7009)
        web.browser_of(VIEWER_KEY)
        assert "No apps are connected" in (await web.page()).text
        assert await web.rig.store.get(f"oauth:principal-grants:{principal_id(VIEWER_KEY)}") is None


async def test_the_index_stays_short_for_a_person_who_signs_in_again_and_again() -> None:
    async with site() as web:
        for _ in range(PRUNE_AT + 5):
            signed = await web.sign_in(VIEWER_KEY, Role.VIEWER)
            token = await web.rig.provider.load_access_token(signed.access)
            assert token is not None
            await web.rig.provider.revoke_token(token)
        stored = await web.rig.store.get(f"oauth:principal-grants:{principal_id(VIEWER_KEY)}")
        assert stored is not None and stored.count(",") < PRUNE_AT


async def test_last_used_is_shown_once_a_token_is_used() -> None:
    async with site() as web:
        signed = await web.sign_in(VIEWER_KEY, Role.VIEWER)
        web.browser_of(VIEWER_KEY)
        assert "<dd>not yet</dd>" in (await web.page()).text
        await web.rig.provider.load_access_token(signed.access)
        assert "<dd>not yet</dd>" not in (await web.page()).text
