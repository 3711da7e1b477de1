"""Who a request acts for: a CallScaler key, the role it claims, and a name for it that is safe to log.

In single-key modes (stdio, `--transport http` without `--hosted`) there is one principal, the
server's own key. In hosted mode each request brings its own (see `cs_mcp.hosted`).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from mcp.server.auth.provider import AccessToken
from pydantic import ConfigDict, Field

from cs_mcp.secrets import Secret
from cs_mcp.spec import Role

# Principal ids are keyed hashes of the API key: the same on every replica, never the key itself.
PRINCIPAL_SALT = b"cs-mcp principal v1"


def principal_id(api_key: Secret) -> str:
    """A stable 16-hex-digit name for a key: what audit lines, store keys and sessions use."""
    return hmac.new(PRINCIPAL_SALT, api_key.reveal().encode(), hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class Principal:
    """A caller: their key (never shown), the role whose tools they see, and how they signed in."""

    api_key: Secret = field(repr=False)
    role: Role
    via: str  # "server" (the process's own key), "header" or "oauth"
    id: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", principal_id(self.api_key))


class PrincipalToken(AccessToken):
    """An access token (OAuth, or a CallScaler key sent as the bearer) and the principal it stands for.

    Both ways in give the SDK's auth middleware one of these; the SDK binds MCP sessions to
    (client_id, subject), so `subject` is the principal id: one user's session is never another's."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    principal: Principal = Field(exclude=True, repr=False)
