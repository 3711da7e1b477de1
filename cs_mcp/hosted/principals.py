"""Who the current call acts for: the one place every per-caller decision asks.

In single-key modes (stdio, plain HTTP, with or without `--http-token`) that is always the server's own
key, with its configured role (`via="server"`). In hosted mode it is the caller the SDK's auth
middleware authenticated for this request: its `PrincipalToken`, which the SDK hands down to the tool,
resource or prompt handling the request in a context variable (`get_access_token`), on either protocol
era, sessions or none.
"""

from __future__ import annotations

from mcp.server.auth.middleware.auth_context import get_access_token

from cs_mcp.config import Settings
from cs_mcp.hosted.principal import Principal, PrincipalToken
from cs_mcp.secrets import Secret


class NoPrincipal(RuntimeError):
    """A hosted server reached a handler without an authenticated caller: never sent anywhere."""


class Principals:
    def __init__(self, settings: Settings) -> None:
        self.hosted = settings.hosted
        self._server = Principal(settings.api_key, settings.role, "server")

    def current(self) -> Principal:
        if not self.hosted:
            return self._server
        token = get_access_token()
        if isinstance(token, PrincipalToken):
            return token.principal
        # The SDK refuses unauthenticated requests before any handler runs; this is the backstop.
        raise NoPrincipal("no authenticated caller for this request; nothing was sent")

    def api_key(self) -> Secret:
        """The key the current call's API requests carry."""
        return self.current().api_key
