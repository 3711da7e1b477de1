"""How a hosted server authenticates callers: the SDK's auth settings and what checks credentials.

The one place the MCP server's auth arguments are built. cs_mcp is its own OAuth 2.1 authorization
server (`CallScalerOAuthProvider`, with the consent page's routes); a bearer it did not issue falls
back to header mode (a caller's own CallScaler key, `HeaderKeyVerifier`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp.server.auth.routes import build_resource_metadata_url
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from pydantic import AnyHttpUrl
from starlette.routing import Route

from cs_mcp.config import Settings
from cs_mcp.hosted.connections import connections_routes
from cs_mcp.hosted.consent import consent_routes
from cs_mcp.hosted.header import HeaderKeyVerifier
from cs_mcp.hosted.keys import KeyChecker
from cs_mcp.hosted.oauth import CallScalerOAuthProvider
from cs_mcp.state import Store
from cs_mcp.web.signing import ServerSecret

MCP_PATH = "/mcp"


def resource_url(settings: Settings) -> str:
    assert settings.public_url is not None  # config sets it whenever hosted
    return settings.public_url + MCP_PATH


def resource_metadata_url(settings: Settings) -> str:
    """Where a client reads how to sign in (RFC 9728): named in every 401's WWW-Authenticate."""
    return str(build_resource_metadata_url(AnyHttpUrl(resource_url(settings))))


@dataclass(frozen=True)
class HostedAuth:
    """The SDK's auth settings, the provider behind them, and the consent and connections pages to
    mount beside them."""

    settings: AuthSettings
    provider: CallScalerOAuthProvider

    def server_arguments(self) -> dict[str, Any]:
        return {"auth": self.settings, "auth_server_provider": self.provider}

    def routes(self) -> list[Route]:
        return consent_routes(self.provider) + connections_routes(self.provider)


def hosted_auth(settings: Settings, checker: KeyChecker, store: Store) -> HostedAuth:
    """OAuth for connectors, header keys for everything else, over the shared state store."""
    assert settings.public_url is not None and settings.secret is not None  # config requires both
    provider = CallScalerOAuthProvider(
        store,
        ServerSecret(settings.secret),
        checker,
        settings.public_url,
        fallback=HeaderKeyVerifier(checker),
        resource_url=resource_url(settings),
    )
    auth = AuthSettings(
        issuer_url=AnyHttpUrl(settings.public_url),
        resource_server_url=AnyHttpUrl(resource_url(settings)),
        client_registration_options=ClientRegistrationOptions(enabled=True),
        revocation_options=RevocationOptions(enabled=True),
        # A CallScaler key names no resource; the provider refuses to issue tokens for any resource
        # but this server's, so every token it accepts is already bound to it.
        validate_token_resource=False,
    )
    return HostedAuth(auth, provider)
