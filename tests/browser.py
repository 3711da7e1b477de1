"""A real headless browser for the page tests: Debian's Chromium driven by Playwright.

Playwright's own browser download cannot work here, so it is pointed at the system Chromium (`.ci/run`
installs the `chromium` package). A missing browser fails the test that needs it: it is never skipped.
Screenshots go to test-artifacts/screenshots/ (or $CS_MCP_SCREENSHOTS), not committed, for review.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling Google's hosts, which a closed
# network refuses; --no-sandbox because CI runs as root.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(
    os.environ.get(
        "CS_MCP_SCREENSHOTS", Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
    )
)


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """A headless Chromium with a fresh profile; `await browser.new_context()` for each user."""
    from playwright.async_api import async_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(
            f"Chromium not found at {CHROMIUM}: install Debian's chromium package (.ci/run does)"
        )
    # Playwright gives each launch a fresh, temporary profile of its own.
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield browser
        finally:
            await browser.close()


async def screenshot(page: Any, name: str) -> Path:
    """Save the page for a person to look at later; returns where."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
