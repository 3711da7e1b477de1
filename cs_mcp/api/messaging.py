"""Texts: one contact's thread (`GET /texts?contact=`) and sending an SMS (`POST /texts`).

The list tools read conversations and SMS events by the generic handlers, from the paths their specs give;
`conversations()` is for the tools that go through every thread.
"""

from __future__ import annotations

from typing import Any

from cs_mcp.api.resource import Items, Resource


class Texts(Resource):
    async def thread(self, contact: str) -> Items:
        """Every text to or from `contact` (E.164), oldest first."""
        return (await self._get("/texts", {"contact": contact})).items("texts")

    async def send(self, from_number: str, to_number: str, body: str) -> dict[str, Any]:
        """Send one SMS from one of the business's SMS-enabled numbers; the text as the API recorded it."""
        answer = await self._send(
            "POST", "/texts", {"from_number": from_number, "to_number": to_number, "body": body}
        )
        return answer.object("text", "message")

    async def conversations(self) -> Items:
        """Every conversation, one per contact, latest first."""
        return (await self._get("/conversations")).items("conversations")
