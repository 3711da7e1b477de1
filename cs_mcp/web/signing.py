"""Values a browser carries back to us, signed so that it cannot forge or move them.

- `ServerSecret`: the one secret a server signs with (`CS_MCP_SECRET` when hosted, so that every
  replica agrees; random per process otherwise), with a separate key derived for each purpose.
- `SignedValues`: "value.expiry.mac" strings, for the browser-session cookie and CSRF tokens. A CSRF
  token is bound to what the form acts on (a pending approval, an authorization request) and to the
  browser session, so a token lifted from one page works nowhere else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

from cs_mcp.secrets import Secret

SESSION_COOKIE = "cs_mcp_session"
MIN_SECRET_LENGTH = 32  # characters: 128 bits as hex


class ServerSecret:
    """`CS_MCP_SECRET` (a `Secret`: masked wherever output could echo it), or a key cs_mcp made itself
    (bytes: random, or kept in the state store). A key made here never leaves the process, only MACs
    derived from it do, so it is not one the output scan looks for: every result would pay for it."""

    def __init__(self, secret: Secret | bytes | None = None) -> None:
        if isinstance(secret, Secret):
            self._secret = secret.reveal().encode()
        else:
            self._secret = secret or secrets.token_bytes(32)

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for one purpose: a key leaked from one use opens no other."""
        return hmac.new(self._secret, b"cs-mcp/" + purpose.encode(), hashlib.sha256).digest()

    def __repr__(self) -> str:
        return "ServerSecret('********')"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SignedValues:
    """Sign and check short values with an expiry; the value itself must not contain '.'."""

    def __init__(self, key: bytes, clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self._clock = clock

    def _mac(self, value: str, expires: int, bound_to: str) -> str:
        message = f"{value}.{expires}.{bound_to}".encode()
        return _b64(hmac.new(self._key, message, hashlib.sha256).digest())

    def sign(self, value: str, lifetime: float, bound_to: str = "") -> str:
        if "." in value:
            raise ValueError("signed values cannot contain '.'")
        expires = int(self._clock() + lifetime)
        return f"{value}.{expires}.{self._mac(value, expires, bound_to)}"

    def check(self, signed: str | None, bound_to: str = "") -> str | None:
        """The value, if `signed` is ours, unexpired and bound to `bound_to`; else None."""
        value, _, rest = (signed or "").partition(".")
        expires_text, _, mac = rest.partition(".")
        if not (value and expires_text.isdigit() and mac):
            return None
        expires = int(expires_text)
        if expires < self._clock() or not hmac.compare_digest(mac, self._mac(value, expires, bound_to)):
            return None
        return value

    def nonce_token(self, lifetime: float, bound_to: str) -> str:
        """A fresh CSRF token for a form about `bound_to`."""
        return self.sign(secrets.token_urlsafe(16), lifetime, bound_to)  # urlsafe: never a '.'


def browser_sessions(secret: ServerSecret, clock: Callable[[], float] = time.time) -> SignedValues:
    """The signer of `SESSION_COOKIE` (a principal id): the consent page sets it; the connections and
    approval pages read it."""
    return SignedValues(secret.derive("cookie"), clock)
