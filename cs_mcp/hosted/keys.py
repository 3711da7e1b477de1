"""Is this a working CallScaler key? Asked of the API itself before a key is trusted (hosted mode)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import anyio
import httpx

from cs_mcp.client import CallScalerClient, RetryPolicy
from cs_mcp.errors import AuthenticationError, CallScalerError, PermissionDenied
from cs_mcp.secrets import Secret

logger = logging.getLogger("cs_mcp.hosted")


@dataclass(frozen=True)
class KeyVerdict:
    """`valid` when the API accepted the key; otherwise `reason` says why, in words for the user (never
    the key). `unavailable` when the API could not be asked: not the key's fault, try again later."""

    valid: bool
    reason: str = ""
    unavailable: bool = False


class CallerKey(Secret):
    """A caller's key in hosted mode: hidden like any `Secret`, but not registered for piecewise masking.

    Every key a hosted server ever sees (made-up ones included) would otherwise grow the masking set
    for the life of the process, and every answer's masking with it. Caller keys are all shaped like a
    CallScaler key (`cs_key_...`), which `redact` masks whole wherever one appears."""

    __slots__ = ()

    def __init__(self, value: str) -> None:
        self._value = value


class KeyChecker(Protocol):
    async def check(self, api_key: Secret) -> KeyVerdict:
        """Asks the API with a cheap read; verdicts may be cached briefly by the key's salted hash."""
        ...


# How long a verdict stands before the key is asked about again: a revoked key stops working within a
# minute; a mistyped one can be retried, corrected, within seconds.
VALID_FOR_SECONDS = 60.0
INVALID_FOR_SECONDS = 10.0
MAX_CACHED_VERDICTS = 10_000
# A cheap read every key may make (every GET is open to viewers), small whatever the business's size.
CHECK_PATH = "/dashboard/stats"


def _no_key() -> Secret:
    raise RuntimeError("the key checker sends only the key it is checking")


NOT_ASKED = KeyVerdict(
    valid=False,
    reason="CallScaler could not be asked whether this key works; try again in a minute.",
    unavailable=True,
)


class _Flight:
    """One check in progress: callers asking about the same key meanwhile wait for its verdict."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.verdict = NOT_ASKED  # what waiters get if the check is cancelled before it answers


class ApiKeyChecker:
    """`KeyChecker` against the API itself: one cheap read with the key, its verdict cached briefly.

    The cache is keyed by a salted hash of the key (the salt is this process's, never stored), so the
    memory holds no key. Checks use their own small connection pool: a flood of made-up keys cannot
    take the connections users' calls need. An API that cannot be reached is `unavailable`, not a
    verdict on the key, and is not cached. Concurrent checks of one key (a client opening several
    requests with a new key at once) share a single request: one flight per key."""

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = CallScalerClient(
            _no_key,
            base_url,
            transport=transport,
            timeout=10.0,
            retry=RetryPolicy(max_attempts=2, total_seconds=10.0),
        )
        self._clock = clock
        self._salt = secrets.token_bytes(32)
        self._verdicts: dict[bytes, tuple[KeyVerdict, float]] = {}
        self._flights: dict[bytes, _Flight] = {}

    def _cache_key(self, api_key: Secret) -> bytes:
        return hmac.new(self._salt, api_key.reveal().encode(), hashlib.sha256).digest()

    async def check(self, api_key: Secret) -> KeyVerdict:
        cache_key = self._cache_key(api_key)
        cached = self._verdicts.get(cache_key)
        if cached is not None and cached[1] > self._clock():
            return cached[0]
        flight = self._flights.get(cache_key)
        if flight is not None:
            await flight.done.wait()
            return flight.verdict
        flight = self._flights[cache_key] = _Flight()
        try:
            flight.verdict = await self._ask(api_key)
        finally:
            del self._flights[cache_key]
            flight.done.set()
        if not flight.verdict.unavailable:
            self._remember(cache_key, flight.verdict)
        return flight.verdict

    async def _ask(self, api_key: Secret) -> KeyVerdict:
        try:
            await self._client.for_key(api_key).get(CHECK_PATH)
        except AuthenticationError:
            return KeyVerdict(
                valid=False,
                reason="CallScaler did not accept this API key (unknown, mistyped or revoked). Copy a current "
                "key from CallScaler, Settings → API Keys.",
            )
        except PermissionDenied:  # known to the API, limited in what it may read: still a working key
            return KeyVerdict(valid=True)
        except CallScalerError as exc:
            logger.warning("could not check an API key with CallScaler: %s", exc)
            return NOT_ASKED
        return KeyVerdict(valid=True)

    def _remember(self, cache_key: bytes, verdict: KeyVerdict) -> None:
        now = self._clock()
        if len(self._verdicts) >= MAX_CACHED_VERDICTS:
            self._verdicts = {k: v for k, v in self._verdicts.items() if v[1] > now}
            while len(self._verdicts) >= MAX_CACHED_VERDICTS:  # all fresh: the oldest go first
                del self._verdicts[next(iter(self._verdicts))]
        lifetime = VALID_FOR_SECONDS if verdict.valid else INVALID_FOR_SECONDS
        self._verdicts[cache_key] = (verdict, now + lifetime)

    async def aclose(self) -> None:
        await self._client.aclose()
