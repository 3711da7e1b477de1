"""How a hosted server authenticates callers: the SDK's auth settings and what checks credentials.

The one place the MCP server's auth arguments are built. Today: header mode alone (a caller's own
CallScaler key as the bearer, `HeaderKeyVerifier`). With OAuth, the authorization server provider
takes the verifier's place here (its `load_access_token` falls back to the verifier for bearers it did
not issue), and every other part stays as it is.
"""

from __future__ import annotations

from typing import Any

from mcp.server.auth.routes import build_resource_metadata_url
from mcp.server.auth.settings import AuthSettings
from pydantic import AnyHttpUrl

from cs_mcp.config import Settings
from cs_mcp.hosted.header import HeaderKeyVerifier
from cs_mcp.hosted.keys import KeyChecker

MCP_PATH = "/mcp"


def resource_url(settings: Settings) -> str:
    assert settings.public_url is not None  # config sets it whenever hosted
    return settings.public_url + MCP_PATH


def resource_metadata_url(settings: Settings) -> str:
    """Where a client reads how to sign in (RFC 9728): named in every 401's WWW-Authenticate."""
    return str(build_resource_metadata_url(AnyHttpUrl(resource_url(settings))))


def hosted_auth(settings: Settings, checker: KeyChecker) -> dict[str, Any]:
    """MCPServer's auth arguments for a hosted server."""
    assert settings.public_url is not None
    auth = AuthSettings(
        issuer_url=AnyHttpUrl(settings.public_url),
        resource_server_url=AnyHttpUrl(resource_url(settings)),
        # A CallScaler key names no resource; the verifier decides what it accepts.
        validate_token_resource=False,
    )
    return {"auth": auth, "token_verifier": HeaderKeyVerifier(checker)}
