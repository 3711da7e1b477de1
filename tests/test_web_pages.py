"""The page toolkit: signed values cannot be forged, moved or kept past expiry; pages carry a strict
CSP that the browser enforces (no script, only our own stylesheet)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from cs_mcp.web.pages import render
from cs_mcp.web.signing import ServerSecret, SignedValues
from tests.browser import chromium, screenshot


class Clock:
    now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_signed_values_refuse_tampering_other_bindings_other_keys_and_expiry() -> None:
    clock = Clock()
    values = SignedValues(ServerSecret().derive("csrf"), clock)
    token = values.sign("approval123", 60, bound_to="browser-a")
    assert values.check(token, "browser-a") == "approval123"
    assert values.check(token, "browser-b") is None  # moved to another browser session
    assert values.check(token.replace("approval123", "approval124"), "browser-a") is None
    assert SignedValues(ServerSecret().derive("csrf"), clock).check(token, "browser-a") is None
    assert values.check(None) is None and values.check("garbage") is None and values.check("a.b.c") is None
    clock.now += 61
    assert values.check(token, "browser-a") is None
    with pytest.raises(ValueError):
        values.sign("a.b", 60)


def test_purposes_derive_different_keys() -> None:
    secret = ServerSecret()
    assert secret.derive("csrf") != secret.derive("cookie")
    assert "****" in repr(secret)


def _serve(app: Starlette) -> tuple[uvicorn.Server, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return server, sock.getsockname()[1]


@pytest.mark.anyio
async def test_browser_applies_our_stylesheet_and_blocks_injected_script_and_style() -> None:
    async def page(request: Request) -> object:
        return render("base.html")

    async def hostile(request: Request) -> object:
        # What an escaping bug would let through: the CSP must still stop it.
        response = render("base.html")
        response.body = response.body.replace(
            b"</main>", b"<script>document.title='pwned'</script><p style='color:red' id=p>x</p></main>"
        )
        response.headers["content-length"] = str(len(response.body))
        return response

    server, port = _serve(Starlette(routes=[Route("/", page), Route("/hostile", hostile)]))
    try:
        async with chromium() as browser:
            tab = await (await browser.new_context()).new_page()
            console: list[str] = []
            tab.on("console", lambda message: console.append(message.text))
            response = await tab.goto(f"http://127.0.0.1:{port}/")
            assert response is not None and response.status == 200
            assert "default-src 'none'" in response.headers["content-security-policy"]
            assert await tab.evaluate("getComputedStyle(document.querySelector('main')).maxWidth") == "640px"
            assert not [line for line in console if "Content Security Policy" in line]
            await screenshot(tab, "web-base")
            await tab.goto(f"http://127.0.0.1:{port}/hostile")
            assert await tab.title() != "pwned"
            assert (
                await tab.evaluate("getComputedStyle(document.getElementById('p')).color") != "rgb(255, 0, 0)"
            )
            assert [line for line in console if "Content Security Policy" in line]
    finally:
        server.should_exit = True
