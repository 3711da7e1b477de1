"""Header mode: `Authorization: Bearer cs_key_...` is the caller's own CallScaler key, and
`X-CallScaler-Role` (default viewer) the role whose tools they want listed.

Two parts, both before any MCP work:
- `HeaderModeGate` (outermost ASGI middleware on a hosted server): a bad role header is answered 400;
  a CallScaler-shaped key the API refuses is answered 401 with why (never the key) and where to read
  how to sign in (`resource_metadata`); an API that cannot be asked is answered 503. It tags the
  request with the caller's principal id, so the session bound counts sessions per user. Any other
  bearer (an OAuth token) passes untouched to the SDK's auth.
- `HeaderKeyVerifier`: the SDK's `TokenVerifier` for such keys. It gives the SDK's auth middleware a
  `PrincipalToken` naming the principal (never the key: `token` is "header:<principal id>").
"""

from __future__ import annotations

from contextvars import ContextVar

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from cs_mcp.hosted.keys import CallerKey, KeyChecker
from cs_mcp.hosted.principal import Principal, PrincipalToken, principal_id
from cs_mcp.http_sessions import PRINCIPAL_KEY, bearer_credentials
from cs_mcp.spec import Role

KEY_PREFIX = "cs_key_"
ROLE_HEADER = b"x-callscaler-role"
HEADER_CLIENT = "header"
ROLE_CHOICES = ", ".join(role.label for role in Role)

# The role this request claims, set by the gate for the verifier, which the SDK hands the token alone.
_claimed_role: ContextVar[Role] = ContextVar("cs_mcp_claimed_role", default=Role.VIEWER)


def _claimed(scope: Scope) -> Role | None:
    """The role the request claims (viewer when it claims none); None for a value that is no role."""
    values = [value for name, value in scope["headers"] if name == ROLE_HEADER]
    if not values:
        return Role.VIEWER
    try:
        return Role.parse(values[0].decode("latin-1")) if len(values) == 1 else None
    except ValueError:
        return None


class HeaderKeyVerifier:
    """A bearer shaped like a CallScaler key, accepted when the API accepts it (verdicts cached briefly)."""

    def __init__(self, checker: KeyChecker) -> None:
        self.checker = checker

    async def verify_token(self, token: str) -> PrincipalToken | None:
        if not token.startswith(KEY_PREFIX):
            return None  # not a CallScaler key: not ours to ask the API about
        api_key = CallerKey(token)
        if not (await self.checker.check(api_key)).valid:
            return None
        principal = Principal(api_key, _claimed_role.get(), "header")
        return PrincipalToken(
            token=f"{HEADER_CLIENT}:{principal.id}",
            client_id=HEADER_CLIENT,
            scopes=[],
            subject=principal.id,
            principal=principal,
        )


class HeaderModeGate:
    def __init__(
        self, app: ASGIApp, checker: KeyChecker, resource_metadata_url: str, path: str = "/mcp"
    ) -> None:
        self.app = app
        self.checker = checker
        self.resource_metadata_url = resource_metadata_url
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].rstrip("/") != self.path:
            await self.app(scope, receive, send)
            return
        role = _claimed(scope)
        if role is None:
            await self._refuse(
                scope,
                receive,
                send,
                400,
                "invalid_request",
                f"X-CallScaler-Role must be one of {ROLE_CHOICES} (once); it names the role whose tools to list.",
            )
            return
        credentials = bearer_credentials(scope)
        token = credentials.decode("latin-1") if credentials is not None else None
        if token is not None and token.startswith(KEY_PREFIX):
            api_key = CallerKey(token)
            verdict = await self.checker.check(api_key)
            if verdict.unavailable:
                await self._refuse(
                    scope,
                    receive,
                    send,
                    503,
                    "temporarily_unavailable",
                    verdict.reason,
                    {"Retry-After": "30"},
                )
                return
            if not verdict.valid:
                challenge = (
                    'Bearer error="invalid_token", error_description="CallScaler did not accept this API key", '
                    f'resource_metadata="{self.resource_metadata_url}"'
                )
                await self._refuse(
                    scope,
                    receive,
                    send,
                    401,
                    "invalid_token",
                    verdict.reason,
                    {"WWW-Authenticate": challenge},
                )
                return
            scope = {**scope, PRINCIPAL_KEY: "key:" + principal_id(api_key)}
        claim = _claimed_role.set(role)
        try:
            await self.app(scope, receive, send)
        finally:
            _claimed_role.reset(claim)

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        error: str,
        description: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        # Closing spares the server a body it will never read.
        response = JSONResponse(
            {"error": error, "error_description": description},
            status_code=status,
            headers={**(headers or {}), "Connection": "close"},
        )
        await response(scope, receive, send)
