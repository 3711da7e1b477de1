"""The 2026-07-28 era's `requestState`, sealed under a key kept in the state store.

The SDK seals the state a multi-round tool call carries through the client under a key of its own
process by default, so a round begun on one replica could not be continued on another. This codec
uses the SDK's AES-GCM codec under a key every process sharing the store reads from it, so any
replica can verify and continue a round another began. The key is read once, on first use.
"""

from __future__ import annotations

from mcp.server.request_state import AESGCMRequestStateCodec, InvalidRequestState

from cs_mcp.state.base import Store, StoreUnavailable

SECRET_NAME = "request-state-key"


class StoreKeyCodec:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._codec: AESGCMRequestStateCodec | None = None

    def _loaded(self) -> AESGCMRequestStateCodec:
        if self._codec is None:
            self._codec = AESGCMRequestStateCodec([self.store.secret(SECRET_NAME)])
        return self._codec

    def seal(self, payload: bytes) -> str:
        return self._loaded().seal(payload)

    def unseal(self, token: str) -> bytes:
        try:
            codec = self._loaded()
        except StoreUnavailable as exc:  # refused like any state this server cannot verify
            raise InvalidRequestState("state store unavailable") from exc
        return codec.unseal(token)
