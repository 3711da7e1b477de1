"""Voicemails: the inbox, one voicemail, and its audio."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cs_mcp.api.resource import Items, Resource

if TYPE_CHECKING:
    from cs_mcp.client import RawResponse


class Voicemails(Resource):
    async def get(self, voicemail_id: object) -> dict[str, Any]:
        return (await self._get(f"/voicemails/{voicemail_id}")).object("voicemail")

    async def recording(self, voicemail_id: object) -> RawResponse:
        """The audio (audio/mpeg), as bytes."""
        return await self._client.get_raw(f"/voicemails/{voicemail_id}/recording")

    async def list(self) -> Items:
        """Every voicemail, newest first, each with its transcription."""
        return (await self._get("/voicemails")).items("voicemails")
