"""The connections page: where a signed-in person sees the apps connected with their CallScaler key and
ends those sign-ins (`GET`/`POST /oauth/connections`).

Who is asking comes from the browser-session cookie set at consent (`SESSION_COOKIE`, a signed principal
id); there is no other way in. Every form carries a CSRF token bound to that cookie, so another site
cannot post for the person and a token from another browser works for nobody. Disconnecting goes
through the provider's revocation (the grant, its stored key and its tokens), and only ever for a grant
of the cookie's principal: another person's grant id posted here does nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cs_mcp.hosted.oauth import CallScalerOAuthProvider, Connection
from cs_mcp.web.pages import render
from cs_mcp.web.signing import SESSION_COOKIE, SignedValues, browser_sessions

CONNECTIONS_PATH = "/oauth/connections"
FORM_LIFETIME = 60 * 60
UNVERIFIED = (
    "This form could not be verified (it expired, or it was not sent from this page). Nothing changed."
)


def when(timestamp: int | None) -> str:
    if not timestamp:
        return "not yet"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


class ConnectionsPage:
    def __init__(self, provider: CallScalerOAuthProvider) -> None:
        self.provider = provider
        self.sessions = browser_sessions(provider.secret)
        self.csrf = SignedValues(provider.secret.derive("connections-csrf"))

    def _principal(self, request: Request) -> tuple[str, str] | None:
        """(principal id, the cookie naming it) for a browser signed in at consent, else None."""
        cookie = request.cookies.get(SESSION_COOKIE, "")
        principal_id = self.sessions.check(cookie)
        return (principal_id, cookie) if principal_id else None

    async def _page(
        self, principal_id: str, cookie: str, *, notice: str = "", error: str = "", status: int = 200
    ) -> Response:
        connections: list[Connection] = await self.provider.connections(principal_id)
        return render(
            "connections.html",
            status=status,
            signed_in=True,
            action=CONNECTIONS_PATH,
            csrf=self.csrf.nonce_token(FORM_LIFETIME, bound_to=cookie),
            connections=[
                {
                    "id": c.grant_id,
                    "app": c.client_name or "An unnamed app",
                    "role": c.role,
                    "signed_in": when(c.signed_in_at),
                    "last_used": when(c.last_used_at),
                }
                for c in connections
            ],
            notice=notice,
            error=error,
        )

    async def show(self, request: Request) -> Response:
        signed_in = self._principal(request)
        if signed_in is None:
            return render("connections.html", signed_in=False, notice="", error="")
        return await self._page(*signed_in)

    async def disconnect(self, request: Request) -> Response:
        signed_in = self._principal(request)
        if signed_in is None:
            return render("connections.html", status=403, signed_in=False, notice="", error="")
        principal_id, cookie = signed_in
        form = await request.form()
        if self.csrf.check(str(form.get("csrf", "")), bound_to=cookie) is None:
            return await self._page(principal_id, cookie, error=UNVERIFIED, status=403)
        if form.get("all"):
            ended = [
                c
                for c in await self.provider.connections(principal_id)
                if await self.provider.disconnect(principal_id, c.grant_id)
            ]
            notice = f"Disconnected {len(ended)} app{'s' if len(ended) != 1 else ''}."
        else:
            # Someone else's grant id (or a made-up one) ends nothing, and the answer does not say whose.
            gone = await self.provider.disconnect(principal_id, str(form.get("grant", "")))
            notice = "Disconnected." if gone else "Nothing to disconnect: that sign-in had already ended."
        return await self._page(principal_id, cookie, notice=notice)


def connections_routes(provider: CallScalerOAuthProvider) -> list[Route]:
    page = ConnectionsPage(provider)
    return [
        Route(CONNECTIONS_PATH, page.show, methods=["GET"]),
        Route(CONNECTIONS_PATH, page.disconnect, methods=["POST"]),
    ]
