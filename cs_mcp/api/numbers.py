"""Tracking numbers: `/numbers` and what hangs off it.

The API has no `GET /numbers/{id}` (the Resources page says so; older pages list one): one number is
always looked up in the whole list.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from cs_mcp.api.models import Number, Released
from cs_mcp.api.resource import Items, Resource

if TYPE_CHECKING:
    from cs_mcp.client import RawResponse

TOLL_FREE_PREFIXES = frozenset({"800", "833", "844", "855", "866", "877", "888"})
# The most offers one search returns; enough to find one exact number among its neighbours.
SEARCH_LIMIT = 30


class Numbers(Resource):
    async def list(self) -> Items:
        """Every number of the business (owned and assigned)."""
        return (await self._get("/numbers")).items("numbers")

    async def find(self, reference: str) -> builtins.list[Number]:
        """The numbers `reference` names: the one with that id, else the one with that phone number (10
        digits are a North American number without its +1), else every one with that exact name."""
        answer = await self._get("/numbers")
        numbers = answer.items("numbers")
        wanted = reference.strip()
        digits = "".join(ch for ch in wanted if ch.isdigit())
        phones = {"+" + digits, "+1" + digits} if len(digits) == 10 else {"+" + digits}
        found = [n for n in numbers if str(n.get("id", "")).lower() == wanted.lower()][:1]
        if not found and digits:
            found = [n for n in numbers if n.get("phone_number") in phones][:1]
        if not found:
            found = [n for n in numbers if str(n.get("name", "")).casefold() == wanted.casefold()]
        return [answer.typed(Number, n) for n in found]

    async def by_phone(self, phone_number: str) -> Number | None:
        """The business's number `phone_number` (E.164), if it has it."""
        answer = await self._get("/numbers")
        found = next((n for n in answer.items("numbers") if n.get("phone_number") == phone_number), None)
        return answer.typed(Number, found) if found is not None else None

    async def phones(self) -> set[str]:
        """The business's own phone numbers."""
        return {str(n.get("phone_number")) for n in await self.list()}

    async def stats(
        self, number_id: object, *, start_date: date | None = None, end_date: date | None = None
    ) -> dict[str, Any]:
        """One number's call figures over [start_date, end_date) (the API's default period when not given)."""
        query = {"start_date": _day(start_date), "end_date": _day(end_date)}
        return (await self._get(f"/numbers/{number_id}/stats", query)).object()

    async def export(self) -> RawResponse:
        """Every number as CSV (no envelope)."""
        return await self._client.get_raw("/numbers/export")

    async def offer(self, phone_number: str) -> dict[str, Any] | None:
        """The offer to buy `phone_number`, if it is for sale: searched in its area code by its other digits."""
        local = phone_number.removeprefix("+1")
        kind = "toll_free" if local[:3] in TOLL_FREE_PREFIXES else "local"
        body = {"area_code": local[:3], "type": kind, "contains": local[3:], "limit": SEARCH_LIMIT}
        offers = (await self._send("POST", "/numbers/search", body, write=False)).items("numbers")
        return next((o for o in offers if o.get("phone_number") == phone_number), None)

    async def purchase(self, phone_number: str, *, name: str | None, call_flow_id: str | None) -> Number:
        body = {"phone_number": phone_number, "name": name, "call_flow_id": call_flow_id}
        answer = await self._send(
            "POST", "/numbers/purchase", {k: v for k, v in body.items() if v is not None}
        )
        return answer.model(Number, "number")

    async def release(self, number_id: object) -> Released:
        answer = await self._send("DELETE", f"/numbers/{number_id}")
        return Released(released=True, id=str(number_id)) if answer.empty else answer.model(Released)

    async def update(self, number_id: object, changes: Mapping[str, Any]) -> Number | None:
        """PATCH the number's name, call_flow_id or status; the number as the API answers it (None: the API
        acknowledged the change without a body)."""
        answer = await self._send("PATCH", f"/numbers/{number_id}", dict(changes))
        return None if answer.empty else answer.model(Number, "number")


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None
