"""The 2026-07-28 era's `requestState`, sealed under a key kept in the state store.

The SDK seals the state a multi-round tool call carries through the client under a key of its own
process by default, so a round begun on one replica could not be continued on another. This codec
uses the SDK's AES-GCM codec under a key every process sharing the store reads from it, so any
replica can verify and continue a round another began. The key is read from the store at each seal
and unseal (only elicitation rounds carry state), never cached: a store that lost its data and made a
new key would otherwise leave replicas sealing under different keys.
"""

from __future__ import annotations

from mcp.server.request_state import AESGCMRequestStateCodec, InvalidRequestState

from cs_mcp.state.base import Store, StoreUnavailable

SECRET_NAME = "request-state-key"


class StoreKeyCodec:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _codec(self) -> AESGCMRequestStateCodec:
        return AESGCMRequestStateCodec([self.store.secret(SECRET_NAME)])

    def seal(self, payload: bytes) -> str:
        return self._codec().seal(payload)

    def unseal(self, token: str) -> bytes:
        try:
            codec = self._codec()
        except StoreUnavailable as exc:  # refused like any state this server cannot verify
            raise InvalidRequestState("state store unavailable") from exc
        return codec.unseal(token)
