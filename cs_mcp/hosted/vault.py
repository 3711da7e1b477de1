"""Users' CallScaler keys at rest: AES-GCM under a key derived from CS_MCP_SECRET, kept in the Store.

Each key is sealed with its grant's id as associated data, so a sealed key copied onto another grant's
entry does not open. A store read under another secret (CS_MCP_SECRET rotated or wrong) finds keys it
cannot open: they read as absent, so the user signs in again, and nothing crashes.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cs_mcp.hosted.keys import CallerKey
from cs_mcp.secrets import Secret
from cs_mcp.state import Store
from cs_mcp.web.signing import ServerSecret

NONCE_BYTES = 12


class Vault:
    def __init__(self, store: Store, secret: ServerSecret) -> None:
        self._store = store
        self._cipher = AESGCM(secret.derive("vault"))

    @staticmethod
    def _entry(grant_id: str) -> str:
        return f"oauth:vault:{grant_id}"

    @staticmethod
    def _context(grant_id: str) -> bytes:
        return f"cs-mcp vault v1 {grant_id}".encode()

    async def put(self, grant_id: str, api_key: Secret, ttl: float) -> None:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._cipher.encrypt(nonce, api_key.reveal().encode(), self._context(grant_id))
        await self._store.put(self._entry(grant_id), base64.b64encode(nonce + sealed).decode(), ttl)

    async def get(self, grant_id: str) -> Secret | None:
        """The key kept for the grant, or None when there is none or it cannot be opened."""
        stored = await self._store.get(self._entry(grant_id))
        if stored is None:
            return None
        try:
            raw = base64.b64decode(stored, validate=True)
            opened = self._cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], self._context(grant_id))
        except (InvalidTag, ValueError):  # not ours, or another secret's (binascii.Error is a ValueError)
            return None
        return CallerKey(opened.decode())

    async def delete(self, grant_id: str) -> None:
        await self._store.delete(self._entry(grant_id))
