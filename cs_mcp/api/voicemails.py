"""Voicemails: one voicemail, and its audio."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cs_mcp.api.resource import Resource

if TYPE_CHECKING:
    from cs_mcp.client import RawResponse


class Voicemails(Resource):
    async def get(self, voicemail_id: object) -> dict[str, Any]:
        return (await self._get(f"/voicemails/{voicemail_id}")).object("voicemail")

    async def recording(self, voicemail_id: object) -> RawResponse:
        """The audio (audio/mpeg), as bytes."""
        return await self._client.get_raw(f"/voicemails/{voicemail_id}/recording")
