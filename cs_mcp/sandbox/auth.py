"""API keys and roles: who may call what."""

from __future__ import annotations

from collections.abc import Mapping

from cs_mcp.sandbox.validation import ApiError

ROLES = ("viewer", "manager", "admin", "owner")
SANDBOX_KEYS: dict[str, str] = {role: f"cs_key_sandbox_{role}" for role in ROLES}
REVOKED_KEY = "cs_key_sandbox_revoked"
_ROLE_OF_KEY = {key: role for role, key in SANDBOX_KEYS.items()}


def bearer_key(headers: Mapping[str, str]) -> str | None:
    scheme, _, key = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return key.strip() or None


def role_of(headers: Mapping[str, str]) -> str | None:
    """The role of the request's key, or None when the key is missing, unknown or revoked."""
    key = bearer_key(headers)
    return _ROLE_OF_KEY.get(key) if key else None


def authenticate(headers: Mapping[str, str]) -> str:
    """The caller's role; 401 for a missing, revoked or unknown key (the key itself is never echoed)."""
    key = bearer_key(headers)
    if key is None:
        raise ApiError(401, "Missing API key: send Authorization: Bearer cs_key_...")
    if key == REVOKED_KEY:
        raise ApiError(401, "API key has been revoked")
    role = _ROLE_OF_KEY.get(key)
    if role is None:
        raise ApiError(401, "Invalid API key")
    return role


def required_role(method: str) -> str:
    """Every read is open to viewers; every write (and the POST search) needs a manager."""
    return "viewer" if method in ("GET", "HEAD") else "manager"


def authorize(role: str, method: str) -> None:
    needed = required_role(method)
    if ROLES.index(role) < ROLES.index(needed):
        raise ApiError(
            403,
            f"This endpoint requires the {needed} role (this key has the {role} role)",
            required_role=needed,
        )
