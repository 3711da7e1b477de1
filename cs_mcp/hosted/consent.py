"""The consent page: where a person connecting an app (Claude.ai, Claude Desktop) to cs_mcp pastes
their CallScaler API key, picks its role, and approves or denies.

The key is checked against CallScaler before any code is issued. The form's CSRF token is bound to
the authorization request and to a SameSite=Strict cookie set when the page was shown, so another
site cannot post the form for the user, and a token lifted from one page works for no other request.
On approval the browser-session cookie (`SESSION_COOKIE`) names the principal, for the approval pages.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from cs_mcp.hosted.keys import CallerKey
from cs_mcp.hosted.oauth import CONSENT_PATH, REQUEST_LIFETIME, CallScalerOAuthProvider, PendingAuthorization
from cs_mcp.hosted.principal import principal_id
from cs_mcp.spec import Role
from cs_mcp.web.pages import render
from cs_mcp.web.signing import SESSION_COOKIE, SignedValues, browser_sessions

CONSENT_COOKIE = "cs_mcp_consent"
SESSION_LIFETIME = 30 * 24 * 60 * 60
READS = "read only"
CHANGES = "read and change (risky changes ask you first)"
ROLE_HELP = {Role.VIEWER: READS, Role.MANAGER: CHANGES, Role.ADMIN: CHANGES, Role.OWNER: CHANGES}
GONE = "This sign-in request has expired or was already answered. Go back to your app and connect again."
UNVERIFIED = (
    "This form could not be verified (it expired, or it was not sent from this page in this browser). "
    "Nothing was shared. Go back to your app and connect again."
)


class ConsentPage:
    def __init__(self, provider: CallScalerOAuthProvider) -> None:
        self.provider = provider
        self.csrf = SignedValues(provider.secret.derive("consent-csrf"))
        self.sessions = browser_sessions(provider.secret)
        self.secure = provider.public_url.startswith("https://")

    def _error(self, message: str, status: int) -> Response:
        return render("consent_error.html", status=status, message=message)

    def _form(
        self,
        request_id: str,
        pending: PendingAuthorization,
        nonce: str,
        *,
        role: str = Role.VIEWER.label,
        error: str = "",
        status: int = 200,
    ) -> Response:
        return render(
            "consent.html",
            status=status,
            form_targets=[pending.redirect_origin],  # the redirect after the post goes back to the app
            action=CONSENT_PATH,
            request_id=request_id,
            csrf=self.csrf.nonce_token(REQUEST_LIFETIME, bound_to=f"{request_id}:{nonce}"),
            client_name=pending.client_name or "An unnamed app",
            redirect_host=pending.redirect_host,
            roles=[(r.label, ROLE_HELP[r]) for r in Role],
            role=role,
            error=error,
        )

    async def show(self, request: Request) -> Response:
        request_id = request.query_params.get("request", "")
        pending = await self.provider.pending(request_id)
        if pending is None:
            return self._error(GONE, 404)
        nonce = request.cookies.get(CONSENT_COOKIE) or secrets.token_urlsafe(16)
        response = self._form(request_id, pending, nonce)
        response.set_cookie(
            CONSENT_COOKIE,
            nonce,
            max_age=REQUEST_LIFETIME,
            path=CONSENT_PATH,
            secure=self.secure,
            httponly=True,
            samesite="strict",
        )
        return response

    async def decide(self, request: Request) -> Response:
        form = await request.form()
        request_id = str(form.get("request", ""))
        nonce = request.cookies.get(CONSENT_COOKIE, "")
        if not nonce or self.csrf.check(str(form.get("csrf", "")), bound_to=f"{request_id}:{nonce}") is None:
            return self._error(UNVERIFIED, 403)
        pending = await self.provider.pending(request_id)
        if pending is None:
            return self._error(GONE, 404)
        if form.get("action") == "deny":
            return self._redirect(await self.provider.deny(request_id))

        role_text = str(form.get("role", ""))
        api_key = str(form.get("api_key", "")).strip()
        try:
            role = Role.parse(role_text)
        except ValueError:
            return self._form(request_id, pending, nonce, error="Pick one of the roles listed.", status=400)
        if not api_key:
            return self._form(
                request_id,
                pending,
                nonce,
                role=role.label,
                error="Paste your CallScaler API key.",
                status=400,
            )
        verdict = await self.provider.keys.check(CallerKey(api_key))
        if not verdict.valid:
            if verdict.unavailable:
                message, status = (
                    "CallScaler could not be reached to check the key. Nothing was shared; try again shortly.",
                    503,
                )
            else:
                reason = f" ({verdict.reason})" if verdict.reason else ""
                message, status = f"CallScaler did not accept this API key{reason}. Nothing was shared.", 400
            return self._form(request_id, pending, nonce, role=role.label, error=message, status=status)

        url = await self.provider.approve(request_id, CallerKey(api_key), role)
        response = self._redirect(url)
        if url is not None:
            response.set_cookie(
                SESSION_COOKIE,
                self.sessions.sign(principal_id(CallerKey(api_key)), SESSION_LIFETIME),
                max_age=SESSION_LIFETIME,
                path="/",
                secure=self.secure,
                httponly=True,
                samesite="lax",
            )
        return response

    def _redirect(self, url: str | None) -> Response:
        """Back to the app, or (the request answered meanwhile, in another tab) the page saying so."""
        if url is None:
            return self._error(GONE, 404)
        # The consent cookie stays (it expires with the request): a second click then reads "answered".
        return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def consent_routes(provider: CallScalerOAuthProvider) -> list[Route]:
    """The consent page's routes, to mount beside the SDK's auth routes (they need no bearer token)."""
    page = ConsentPage(provider)
    return [
        Route(CONSENT_PATH, page.show, methods=["GET"]),
        Route(CONSENT_PATH, page.decide, methods=["POST"]),
    ]
