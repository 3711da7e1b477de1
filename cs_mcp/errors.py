"""The exceptions cs_mcp raises, one per way a request can fail.

Every API failure becomes a `CallScalerError` subclass whose message says what went wrong and how to
fix it; the server turns them into tool errors (`isError: true`). Messages are passed through
`secrets.redact` before they are built, so an API key can never leak through an exception.
"""

from __future__ import annotations

from cs_mcp.secrets import redact


class ConfigError(Exception):
    """Bad configuration found at start: the CLI prints it on one line and exits 2."""


class CallScalerError(Exception):
    """Base class for a failed CallScaler API request."""

    status: int | None = None
    hint: str = ""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.message = redact(message)
        if status is not None:
            self.status = status
        super().__init__(self.message)

    def __str__(self) -> str:
        return as_sentences(self.message, self.hint)


def as_sentences(*parts: str) -> str:
    """The parts joined as sentences: each ends with a full stop unless it already ends a sentence."""
    kept = [part.strip() for part in parts if part.strip()]
    return " ".join(part if part.endswith((".", "!", "?")) else part + "." for part in kept)


class AuthenticationError(CallScalerError):
    status = 401
    hint = "Check CALLSCALER_API_KEY: the key is missing, unknown or revoked."


class PermissionDenied(CallScalerError):
    status = 403

    def __init__(self, message: str, *, required_role: str | None = None) -> None:
        self.required_role = required_role
        super().__init__(message)

    @property
    def hint(self) -> str:  # type: ignore[override]
        if self.required_role:
            return f"This needs an API key with the {self.required_role} role (or higher)."
        return "The API key's role does not allow this."


class NotFound(CallScalerError):
    status = 404
    hint = "Check the id; list the resources to find the right one."


class Conflict(CallScalerError):
    status = 409


class InvalidRequest(CallScalerError):
    """The API rejected the request's content (400 or 422)."""

    status = 422


class RateLimited(CallScalerError):
    status = 429

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)

    @property
    def hint(self) -> str:  # type: ignore[override]
        if self.retry_after is not None:
            return f"Retry in {self.retry_after:g} s."
        return "Wait a little before retrying."


# The hints below that say "try again" belong to reads (and to writes the API refused before acting):
# a write that may have been applied is always a WriteOutcomeUnknown instead.


class ServerError(CallScalerError):
    """A 5xx answer to a read."""

    hint = "CallScaler had a problem; try again shortly."


class RequestTimeout(CallScalerError):
    """A read that got no answer in time, even after retries."""

    hint = "CallScaler may be slow or unreachable; try again shortly."


class ConnectionFailed(CallScalerError):
    hint = "Check the network and CALLSCALER_BASE_URL."


class MalformedResponse(CallScalerError):
    """A read answered with a body cs_mcp cannot read."""

    hint = "Try again shortly, and report it if it persists."


class WriteOutcomeUnknown(CallScalerError):
    """A write reached CallScaler (or may have), but no answer says whether it was applied."""

    hint = (
        "It may or may not have taken effect; it was not retried, so it happened at most once. Before "
        "doing it again, read the current state of what it changes (list or get it) to see whether it did: "
        "repeating it blindly could do it twice."
    )


_BY_STATUS: dict[int, type[CallScalerError]] = {
    400: InvalidRequest,
    401: AuthenticationError,
    404: NotFound,
    409: Conflict,
    422: InvalidRequest,
}


def error_for_status(
    status: int, message: str, *, required_role: str | None, retry_after: float | None
) -> CallScalerError:
    """The exception for an HTTP error answer."""
    if status == 403:
        return PermissionDenied(message, required_role=required_role)
    if status == 429:
        return RateLimited(message, retry_after=retry_after)
    if status >= 500:
        return ServerError(message, status=status)
    return _BY_STATUS.get(status, CallScalerError)(message, status=status)
