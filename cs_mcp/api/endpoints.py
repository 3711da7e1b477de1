"""Any documented endpoint, by the path its tool spec gives: what the generic list and call handlers send.

The specs name the path, the key a collection sits under (`[tool.list] items`) and the key an object sits
under (`result`); the shapes are read as every resource reads them (cs_mcp/api/resource.py).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from cs_mcp.api.resource import Items, Resource

ModelT = TypeVar("ModelT", bound=BaseModel)


class Endpoints(Resource):
    async def items(self, path: str, key: str) -> Items:
        """The whole collection at `path` (the API returns collections whole), listed under `key`."""
        return (await self._get(path)).items(key)

    async def call(
        self,
        method: str,
        path: str,
        arguments: dict[str, Any],
        model: type[ModelT],
        *,
        key: str | None,
        write: bool,
    ) -> ModelT:
        """Send `arguments` (as the query of a GET, else as the JSON body) and type the answer as `model`,
        taking it from under `key` when it sits there. A write answered 204 No Content reads as `{}`."""
        if method == "GET":
            answer = await self._get(path, arguments)
        else:
            answer = await self._send(method, path, arguments or None, write=write)
        if answer.empty and write:
            return answer.typed(model, {})
        return answer.model(model, *filter(None, [key]))
