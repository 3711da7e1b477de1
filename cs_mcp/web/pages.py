"""Rendering a page: Jinja2 templates (autoescaped) and the headers every page is sent with."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from functools import cache
from importlib.resources import files
from typing import Any

from starlette.responses import HTMLResponse

STYLESHEET = files("cs_mcp.web").joinpath("templates/style.css").read_text(encoding="utf-8")
# The stylesheet is inline (no external assets), allowed by its hash: no other style, and no script.
STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(STYLESHEET.encode()).digest()).decode()


@cache
def _environment() -> Any:
    import jinja2  # only hosted and approval pages need it; stdio without pages never imports it

    return jinja2.Environment(
        loader=jinja2.PackageLoader("cs_mcp.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def content_security_policy(form_targets: Iterable[str] = ()) -> str:
    """No script, no frames, nothing fetched; forms post only to us (and to `form_targets`: a browser
    applies form-action to the redirect after a post too, such as OAuth's back to the client)."""
    form_action = " ".join(["'self'", *form_targets])
    return (
        f"default-src 'none'; style-src '{STYLE_HASH}'; img-src 'self' data:; "
        f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    )


def render(
    template: str,
    *,
    status: int = 200,
    form_targets: Iterable[str] = (),
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    html = _environment().get_template(template).render(stylesheet=STYLESHEET, **context)
    return HTMLResponse(
        html,
        status_code=status,
        headers={
            "Content-Security-Policy": content_security_policy(form_targets),
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
            **(headers or {}),
        },
    )
