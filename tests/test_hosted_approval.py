"""The whole hosted story with a real browser: two people sign in to one `cs-mcp serve --hosted --confirm
url` through OAuth (the consent page), one asks for a purchase, and only their own click on the approval
page lets it happen, once. The other person, signed in in their own browser, cannot open or use it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cs_mcp.sandbox.auth import SANDBOX_KEYS
from tests.browser import chromium, screenshot
from tests.conftest import call, call_error
from tests.test_approval_page import LINK, heading, no_csp_violations
from tests.test_guardrails import an_available
from tests.test_hosted import Hosted
from tests.test_oauth_browser import callback_app, connector, consents_with, new_page, serving

PURCHASE = "POST /numbers/purchase"


@pytest.fixture(scope="module")
def hosted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosted]:
    server = Hosted(tmp_path_factory.mktemp("hosted-approval"), "--confirm", "url")
    try:
        yield server
    finally:
        server.close()


def link_in(answer: dict[str, Any]) -> str:
    found = LINK.search(answer["message"])
    assert found, answer["message"]
    return found.group(0)


async def a_purchase_asked(client: Any, hosted: Hosted) -> tuple[str, str, str]:
    """The model asks to buy a number: a preview with the approval link and token, nothing bought."""
    phone = await an_available(client)
    first = await call(client, "purchase_number", phone_number=phone)
    link = link_in(first)
    assert link.startswith(f"{hosted.base}/approve/")
    return phone, link, first["confirmation_token"]


async def approve_on_the_page(page: Any, link: str, phone: str) -> None:
    shown = await page.goto(link)
    assert shown is not None and shown.status == 200
    assert phone in await page.inner_text("main")
    await page.get_by_role("button", name="Approve").click()
    assert await heading(page) == "Approved"


@pytest.mark.anyio
async def test_only_the_signed_in_owner_of_a_purchase_can_approve_it_and_it_acts_once(hosted: Hosted) -> None:
    with serving(callback_app) as app_base:
        async with chromium() as browser:
            alice_page, alice_console = await new_page(browser)
            bob_page, bob_console = await new_page(browser)
            alice_signs_in = consents_with(alice_page, app_base, SANDBOX_KEYS["manager"], "manager")
            bob_signs_in = consents_with(bob_page, app_base, SANDBOX_KEYS["admin"], "manager")
            async with (
                connector(hosted.base, app_base, alice_page, alice_signs_in) as alice,
                connector(hosted.base, app_base, bob_page, bob_signs_in) as bob,
            ):
                # First purchase: Bob, signed in as himself, opens Alice's link: refused, it stays Alice's.
                phone, link, token = await a_purchase_asked(alice, hosted)
                refused = await bob_page.goto(link)
                assert refused is not None and refused.status == 403
                await screenshot(bob_page, "hosted-approval-other-user")
                # Alice's assistant retrying before she clicks: nothing happens.
                waiting = await call(alice, "purchase_number", phone_number=phone, confirmation_token=token)
                assert "Waiting for approval on the page" in waiting["message"]
                # She approves; Bob's assistant, holding a copy of her token, still cannot spend it.
                await approve_on_the_page(alice_page, link, phone)
                stolen = await call_error(
                    bob, "purchase_number", phone_number=phone, confirmation_token=token
                )
                assert "another caller" in stolen
                assert hosted.api.writes(PURCHASE) == 0

                # Second purchase: Alice approves it and her assistant's retry buys the number, once.
                phone, link, token = await a_purchase_asked(alice, hosted)
                await approve_on_the_page(alice_page, link, phone)
                await screenshot(alice_page, "hosted-approval")
                done = await call(alice, "purchase_number", phone_number=phone, confirmation_token=token)
                again = await call_error(
                    alice, "purchase_number", phone_number=phone, confirmation_token=token
                )
            assert done["status"] == "done" and "not valid" in again
            assert hosted.api.writes(PURCHASE) == 1
            no_csp_violations(alice_console)
            no_csp_violations(bob_console)
