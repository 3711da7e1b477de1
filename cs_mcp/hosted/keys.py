"""Is this a working CallScaler key? Asked of the API itself before a key is trusted (hosted mode)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from cs_mcp.secrets import Secret


@dataclass(frozen=True)
class KeyVerdict:
    """`valid` when the API accepted the key; otherwise `reason` says why, in words for the user (never
    the key). `unavailable` when the API could not be asked: not the key's fault, try again later."""

    valid: bool
    reason: str = ""
    unavailable: bool = False


class KeyChecker(Protocol):
    async def check(self, api_key: Secret) -> KeyVerdict:
        """Asks the API with a cheap read; verdicts may be cached briefly by the key's salted hash."""
        ...
