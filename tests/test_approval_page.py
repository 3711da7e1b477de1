"""Approval on a page (`--confirm url`), with a real browser: only a person's click on Approve lets a
guarded write act, once; everything else (waiting, Decline, a second click, a replayed link, another
browser, another user's session, an expired link, a token the page never approved) changes nothing.

Every test counts what reached the sandbox API. The MCP clients are the SDK's: in-process (stdio's
loopback page server) on both protocol eras, and over HTTP against `cs-mcp serve` (the HTTP app's page).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp.client import Client
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp_types import (
    ClientCapabilities,
    ElicitationCapability,
    ElicitResult,
    FormElicitationCapability,
    UrlElicitationCapability,
)

from cs_mcp import catalogue
from cs_mcp.config import ConfirmMode, Settings
from cs_mcp.guardrails import TOKEN_TTL_SECONDS, Guardrails
from cs_mcp.sandbox import Sandbox
from cs_mcp.state import open_store
from cs_mcp.web.signing import SESSION_COOKIE, ServerSecret, SignedValues
from tests.browser import chromium, screenshot
from tests.conftest import call, call_error, no_sleep
from tests.test_guardrails import FakeClock, an_available, open_client
from tests.test_transports import http_server

LINK = re.compile(r"https?://[^\s]+/approve/[\w-]+")
TO = "+14077500489"


class Links:
    """A client's URL-mode elicitation: records each link it is given, and answers `action`."""

    def __init__(self, action: str = "accept") -> None:
        self.action = action
        self.urls: list[str] = []
        self.messages: list[str] = []

    async def __call__(self, context: Any, params: Any) -> ElicitResult:
        assert params.mode == "url", "--confirm url never asks with a form"
        self.urls.append(params.url)
        self.messages.append(params.message)
        return ElicitResult(action=self.action)  # type: ignore[arg-type]


def url_settings() -> Settings:
    return Settings.for_sandbox("manager", confirm_mode=ConfirmMode.URL)


@asynccontextmanager
async def url_client(
    sandbox: Sandbox, *, mode: str = "auto", links: Links | None = None, guardrails: Guardrails | None = None
) -> AsyncIterator[Client]:
    settings = url_settings()
    guardrails = guardrails or Guardrails(settings, sleep=no_sleep)
    async with open_client(
        sandbox, mode=mode, answers=links, settings=settings, guardrails=guardrails
    ) as client:  # type: ignore[arg-type]
        yield client


def sms(sandbox: Sandbox, **extra: Any) -> dict[str, Any]:
    return {
        "from_number": sandbox.state["numbers"][0]["phone_number"],
        "to_number": TO,
        "body": "See you",
        **extra,
    }


def texts_sent(sandbox: Sandbox) -> int:
    return sandbox.writes.matching("POST", "/texts")


def link_in(answer: dict[str, Any]) -> str:
    found = LINK.search(answer["message"])
    assert found, answer["message"]
    return found.group(0)


@asynccontextmanager
async def browser_page(browser: Any, **options: Any) -> AsyncIterator[tuple[Any, list[str]]]:
    """A new browser context (another person's browser) with one tab, and the console lines it logs."""
    context = await browser.new_context(**options)
    tab = await context.new_page()
    console: list[str] = []
    tab.on("console", lambda message: console.append(message.text))
    try:
        yield tab, console
    finally:
        await context.close()


async def heading(tab: Any) -> str:
    return str(await tab.get_by_role("heading", level=1).inner_text())


def no_csp_violations(console: list[str]) -> None:
    assert not [line for line in console if "Content Security Policy" in line], console


# ------------------------------------------------------------------------------------------- approve


@pytest.mark.anyio
async def test_approved_on_the_page_the_purchase_acts_once(sandbox: Sandbox) -> None:
    links = Links()
    async with url_client(sandbox, mode="legacy", links=links) as client:
        phone = await an_available(client)
        first = await call(client, "purchase_number", phone_number=phone)
        token = first["confirmation_token"]
        # The link went to the person through the client, not into the model's answer.
        assert first["status"] == "needs_confirmation" and len(links.urls) == 1
        assert not LINK.search(first["message"]) and phone in links.messages[0]
        waiting = await call(client, "purchase_number", phone_number=phone, confirmation_token=token)
        assert (
            waiting["status"] == "needs_confirmation"
            and "Waiting for approval on the page" in waiting["message"]
        )
        assert sandbox.writes.matching("POST", "/numbers/purchase") == 0

        async with chromium() as browser, browser_page(browser) as (tab, console):
            response = await tab.goto(links.urls[0])
            assert response.status == 200
            assert await heading(tab) == "Approve this action?"
            page_text = await tab.inner_text("main")
            cost = first["preview"]["monthly_cost_cents"]
            assert phone in page_text and f"{cost / 100:.2f} USD per month" in page_text
            assert first["preview"]["action"] in page_text
            await screenshot(tab, "approval")
            form = {
                "csrf": await tab.locator("input[name=csrf]").get_attribute("value"),
                "decision": "approve",
            }
            await tab.get_by_role("button", name="Approve").click()
            assert await heading(tab) == "Approved"
            await screenshot(tab, "approval-done")

            # A second Approve (the same form posted again) and a replayed link are refused.
            again = await tab.context.request.post(links.urls[0], form=form)
            assert again.status == 409
            replay = await tab.goto(links.urls[0])
            assert replay.status == 409 and await heading(tab) == "Already approved"
            await screenshot(tab, "approval-refused")
            no_csp_violations(console)

        done = await call(client, "purchase_number", phone_number=phone, confirmation_token=token)
        used = await call_error(client, "purchase_number", phone_number=phone, confirmation_token=token)
    assert done["status"] == "done"
    assert "not valid" in used
    assert sandbox.writes.matching("POST", "/numbers/purchase") == 1


# ------------------------------------------------------------------------------------------- refused


@pytest.mark.anyio
async def test_declined_on_the_page_the_retry_is_refused_and_nothing_is_sent(sandbox: Sandbox) -> None:
    # The 2026-07-28 era cannot send a request mid-call, so the link comes in the answer.
    async with url_client(sandbox, links=Links()) as client:
        first = await call(client, "send_sms", **sms(sandbox))
        link, token = link_in(first), first["confirmation_token"]
        async with chromium() as browser, browser_page(browser) as (tab, console):
            await tab.goto(link)
            assert TO in await tab.inner_text("main") and "See you" in await tab.inner_text("main")
            await tab.get_by_role("button", name="Decline").click()
            assert await heading(tab) == "Declined"
            no_csp_violations(console)
        declined = await call(client, "send_sms", **sms(sandbox, confirmation_token=token))
        after = await call_error(client, "send_sms", **sms(sandbox, confirmation_token=token))
    assert declined["status"] == "declined" and "declined on the approval page" in declined["message"]
    assert "not valid" in after
    assert texts_sent(sandbox) == 0


@pytest.mark.anyio
async def test_a_person_who_will_not_open_the_page_declines(sandbox: Sandbox) -> None:
    links = Links("decline")
    async with url_client(sandbox, mode="legacy", links=links) as client:
        first = await call(client, "send_sms", **sms(sandbox))
        async with httpx2.AsyncClient() as browser:
            page = await browser.get(links.urls[0])
    assert first["status"] == "declined" and first.get("confirmation_token") is None
    assert page.status_code == 409
    assert texts_sent(sandbox) == 0


@pytest.mark.anyio
async def test_a_link_opened_in_another_browser_is_refused(sandbox: Sandbox) -> None:
    async with url_client(sandbox) as client:
        first = await call(client, "send_sms", **sms(sandbox))
        link, token = link_in(first), first["confirmation_token"]
        async with (
            chromium() as browser,
            browser_page(browser) as (mine, _),
            browser_page(browser) as (theirs, _),
        ):
            await mine.goto(link)
            csrf = await mine.locator("input[name=csrf]").get_attribute("value")
            elsewhere = await theirs.goto(link)
            assert elsewhere.status == 403 and await heading(theirs) == "Opened in another browser"
            assert await theirs.get_by_role("alert").is_visible()
            # Even with the first browser's form token, the other browser cannot answer.
            posted = await theirs.context.request.post(link, form={"csrf": csrf, "decision": "approve"})
            assert posted.status == 403
            waiting = await call(client, "send_sms", **sms(sandbox, confirmation_token=token))
            assert waiting["status"] == "needs_confirmation"
            assert texts_sent(sandbox) == 0
            # The first browser still can.
            await mine.get_by_role("button", name="Approve").click()
            assert await heading(mine) == "Approved"
        done = await call(client, "send_sms", **sms(sandbox, confirmation_token=token))
    assert done["status"] == "done" and texts_sent(sandbox) == 1


@pytest.mark.anyio
async def test_a_browser_signed_in_as_another_user_is_refused(sandbox: Sandbox) -> None:
    guardrails = Guardrails(url_settings(), sleep=no_sleep)
    # The page's own signing secret (kept in the store) signs the browser-session cookie here.
    secret = ServerSecret(guardrails.store.secret("approval-pages"))
    sessions = SignedValues(secret.derive("cookie"))
    async with url_client(sandbox, guardrails=guardrails) as client:
        first = await call(client, "send_sms", **sms(sandbox))
        link = link_in(first)
        origin = link.split("/approve/")[0]
        cookie = {"name": SESSION_COOKIE, "url": origin, "value": sessions.sign("0123456789abcdef", 3600)}
        async with chromium() as browser, browser_page(browser) as (tab, _):
            await tab.context.add_cookies([cookie])
            refused = await tab.goto(link)
            assert refused.status == 403 and await heading(tab) == "This approval belongs to another user"
            forged = {**cookie, "value": "0123456789abcdef.9999999999.forged"}
            await tab.context.add_cookies([forged])  # not ours: ignored, and the link is still unbound
            assert (await tab.goto(link)).status == 200
        waiting = await call(
            client, "send_sms", **sms(sandbox, confirmation_token=first["confirmation_token"])
        )
    assert waiting["status"] == "needs_confirmation" and texts_sent(sandbox) == 0


@pytest.mark.anyio
async def test_an_expired_link_is_refused_and_its_token_too(sandbox: Sandbox) -> None:
    clock = FakeClock()
    guardrails = Guardrails(url_settings(), clock=clock, monotonic=clock, sleep=no_sleep)
    async with url_client(sandbox, guardrails=guardrails) as client:
        first = await call(client, "send_sms", **sms(sandbox))
        link = link_in(first)
        async with chromium() as browser, browser_page(browser) as (tab, console):
            await tab.goto(link)
            clock.now += TOKEN_TTL_SECONDS + 1
            await tab.get_by_role("button", name="Approve").click()  # the open page, past its lifetime
            assert await heading(tab) == "This approval link has expired"
            assert (await tab.goto(link)).status == 410
            await screenshot(tab, "approval-expired")
            no_csp_violations(console)
        expired = await call_error(
            client, "send_sms", **sms(sandbox, confirmation_token=first["confirmation_token"])
        )
    assert "expired" in expired
    assert texts_sent(sandbox) == 0


@pytest.mark.anyio
async def test_tokens_the_page_never_approved_do_nothing(sandbox: Sandbox) -> None:
    async with url_client(sandbox) as client, chromium() as browser:
        unapproved = await call(client, "send_sms", **sms(sandbox))
        approved = await call(client, "send_sms", **sms(sandbox, body="Another text"))
        async with browser_page(browser) as (tab, _):
            await tab.goto(link_in(approved))
            await tab.get_by_role("button", name="Approve").click()
        # Approving one page approves nothing else: not the other token, not other arguments.
        waiting = await call(
            client, "send_sms", **sms(sandbox, confirmation_token=unapproved["confirmation_token"])
        )
        moved = await call_error(
            client,
            "send_sms",
            **sms(sandbox, body="Changed", confirmation_token=approved["confirmation_token"]),
        )
        made_up = await call_error(client, "send_sms", **sms(sandbox, confirmation_token="x" * 24))
        unknown = await browser.new_page()
        missing = await unknown.goto(link_in(approved).rsplit("/", 1)[0] + "/made-up-approval-id")
        assert missing.status == 404
    assert waiting["status"] == "needs_confirmation" and "Waiting for approval" in waiting["message"]
    assert "other arguments" in moved and "not valid" in made_up
    assert texts_sent(sandbox) == 0


@pytest.mark.anyio
async def test_a_token_issued_without_a_page_is_refused_under_confirm_url(sandbox: Sandbox) -> None:
    # Same key and store: a token-mode server's token, brought to the server that confirms on a page.
    store = open_store(":memory:")
    token_mode = Guardrails(Settings.for_sandbox("manager", confirm_mode=ConfirmMode.TOKEN), store=store)
    async with open_client(sandbox, guardrails=token_mode, confirm_mode=ConfirmMode.TOKEN) as client:
        issued = await call(client, "send_sms", **sms(sandbox))
    async with url_client(sandbox, guardrails=Guardrails(url_settings(), store=store)) as client:
        refused = await call_error(
            client, "send_sms", **sms(sandbox, confirmation_token=issued["confirmation_token"])
        )
        spent = await call_error(
            client, "send_sms", **sms(sandbox, confirmation_token=issued["confirmation_token"])
        )
    assert "never given an approval page" in refused and "not valid" in spent
    assert texts_sent(sandbox) == 0


@pytest.mark.anyio
async def test_no_tool_or_argument_can_record_an_approval(sandbox: Sandbox) -> None:
    async with url_client(sandbox) as client:
        tools = (await client.list_tools()).tools
    words = re.compile(r"approv|decision|decline", re.IGNORECASE)
    for tool in tools:
        assert not words.search(tool.name)
        assert not [name for name in tool.input_schema.get("properties", {}) if words.search(name)], tool.name


# ------------------------------------------------------------------------------------------- which clients


def client_declaring(**elicitation: Any) -> Any:
    capabilities = (
        ClientCapabilities(elicitation=ElicitationCapability(**elicitation)) if elicitation else None
    )
    return type("Ctx", (), {"client_capabilities": capabilities})()


def test_auto_sends_url_only_clients_to_the_page_and_keeps_the_others() -> None:
    spec = catalogue.by_name()["send_sms"]
    auto = Guardrails(Settings.for_sandbox("manager"))
    url = Guardrails(url_settings())
    url_only = client_declaring(url=UrlElicitationCapability())
    form = client_declaring(form=FormElicitationCapability(), url=UrlElicitationCapability())
    assert auto.confirmation_for(spec, url_only) == "approval_page"
    assert auto.confirmation_for(spec, form) == "elicitation"
    assert auto.confirmation_for(spec, client_declaring()) == "token"
    # --confirm url: every client, even one that could be asked with a form (a model may answer those).
    assert {url.confirmation_for(spec, ctx) for ctx in (url_only, form, client_declaring())} == {
        "approval_page"
    }
    assert "approval page" in url.description_suffix(spec)


@pytest.mark.anyio
async def test_auto_gives_a_url_only_client_the_link_by_url_elicitation(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK's client declares both modes whenever it has a callback; this one declares URL mode only.
    url_only = ClientCapabilities(elicitation=ElicitationCapability(url=UrlElicitationCapability()))
    monkeypatch.setattr(ClientSession, "_build_capabilities", lambda self, version: url_only)
    links = Links()
    async with open_client(sandbox, mode="legacy", answers=links) as client:  # type: ignore[arg-type]
        first = await call(client, "send_sms", **sms(sandbox))
    assert first["status"] == "needs_confirmation" and len(links.urls) == 1
    assert texts_sent(sandbox) == 0


# ------------------------------------------------------------------------------------------- the page itself


@pytest.mark.anyio
async def test_the_page_fits_a_phone_and_names_its_parts(sandbox: Sandbox) -> None:
    async with url_client(sandbox) as client:
        first = await call(client, "send_sms", **sms(sandbox, body="A longer text " * 8))
        async with (
            chromium() as browser,
            browser_page(browser, viewport={"width": 375, "height": 667}) as (tab, con),
        ):
            await tab.goto(link_in(first))
            assert await tab.evaluate("document.documentElement.scrollWidth") <= 375
            for name in ("Approve", "Decline"):
                button = tab.get_by_role("button", name=name)
                box = await button.bounding_box()
                assert await button.is_visible() and box["x"] >= 0 and box["x"] + box["width"] <= 375
                assert box["height"] >= 44  # a finger's target
            assert await tab.get_by_role("heading", name="Approve this action?").is_visible()
            assert await tab.get_by_role("term").count() >= 3  # the preview's facts, as a description list
            await screenshot(tab, "approval-phone")
            no_csp_violations(con)


@pytest.mark.anyio
async def test_over_http_the_page_is_the_servers_own_and_needs_no_bearer_token() -> None:
    token = "s3cret-token-value-0123456789abcdef"
    for base, _ in http_server("--role", "manager", "--confirm", "url", "--http-token", token):
        authorised = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
        async with (
            authorised,
            Client(streamable_http_client(f"{base}/mcp", http_client=authorised)) as client,
        ):
            first = await call(client, "send_sms", from_number="+18139414271", to_number=TO, body="See you")
            link = link_in(first)
            assert link.startswith(f"{base}/approve/")
            async with chromium() as browser, browser_page(browser) as (tab, console):
                await tab.goto(link)
                await tab.get_by_role("button", name="Approve").click()
                assert await heading(tab) == "Approved"
                no_csp_violations(console)
            arguments = {"from_number": "+18139414271", "to_number": TO, "body": "See you"}
            done = await call(client, "send_sms", **arguments, confirmation_token=first["confirmation_token"])
            again = await call_error(
                client, "send_sms", **arguments, confirmation_token=first["confirmation_token"]
            )
        assert done["status"] == "done" and "not valid" in again
