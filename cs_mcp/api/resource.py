"""What every resource shares: sending through the client, and reading the shape of what comes back.

The client has already taken the `data` envelope off (or passed a legacy bare body on); what is left is
the resource's own wrapping, such as `{"numbers": [...], "total": N}` or `{"number": {...}}`, or the bare
list or object. `Answer` reads it once, and refuses anything else with one clear error: for a read a
`MalformedResponse`, for a write a `WriteOutcomeUnknown`, because the write may have been applied before
the answer went wrong (the guardrails then reconcile it instead of reporting it as not done).

Collections come back as the API's item dicts, each checked to be an object. Typing them would cost
more than the request at scale (4,300 numbers: ~15 ms to validate as models against ~32 ms to fetch and
decode, measured on the sandbox), and the summaries filter, count and page dicts anyway; the few items a
caller picks out are typed then.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from cs_mcp.errors import CallScalerError, MalformedResponse, WriteOutcomeUnknown

if TYPE_CHECKING:
    from cs_mcp.client import CallScalerClient

logger = logging.getLogger("cs_mcp.api")
ModelT = TypeVar("ModelT", bound=BaseModel)
# A collection's items as the API sends them (a name of its own: resources have a method called `list`).
Items = list[dict[str, Any]]


@dataclass(frozen=True)
class Answer:
    """What one request answered, with the request it answers (for errors) and whether it was a write."""

    data: Any
    method: str
    path: str
    write: bool

    @property
    def empty(self) -> bool:
        """204 No Content: the write was done, and the API said nothing more."""
        return self.data is None

    def unreadable(self, cause: str) -> CallScalerError:
        """The error for an answer cs_mcp cannot read; a write's is 'outcome unknown', never 'not done'."""
        if self.write:
            return WriteOutcomeUnknown(f"{self.method} {self.path} was sent, but {cause}")
        return MalformedResponse(f"{self.method} {self.path}: {cause}")

    def items(self, *keys: str) -> Items:
        """The list under the first of `keys` that holds one, or the bare list; every item an object."""
        found = self.data
        if isinstance(found, dict):
            found = next((found[key] for key in keys if isinstance(found.get(key), list)), None)
        if not isinstance(found, list):
            raise self.unreadable(f"CallScaler's answer holds no list of {keys[0]}")
        if not all(isinstance(item, dict) for item in found):
            raise self.unreadable(f"CallScaler's list of {keys[0]} holds something that is not an object")
        return found

    def object(self, *keys: str) -> dict[str, Any]:
        """The object under the first of `keys` that holds one, or the bare object."""
        found = self.data
        if isinstance(found, dict):
            found = next((found[key] for key in keys if isinstance(found.get(key), dict)), found)
        if not isinstance(found, dict):
            raise self.unreadable(f"CallScaler's answer is not {_a(keys[0] if keys else 'JSON')} object")
        return found

    def model(self, model: type[ModelT], *keys: str) -> ModelT:
        """The object under the first of `keys` (or the bare one), typed as `model`."""
        return self.typed(model, self.object(*keys))

    def typed(self, model: type[ModelT], value: Mapping[str, Any]) -> ModelT:
        try:
            return model.model_validate(value)
        except ValidationError as exc:
            # The details name the API's fields, which may carry outside text: logged, not shown.
            logger.warning(
                "%s %s: unexpected answer shape for %s: %s", self.method, self.path, model.__name__, exc
            )
            raise self.unreadable(
                f"CallScaler's answer did not have the shape of {_a(model.__name__)} "
                f"({exc.error_count()} problem(s), logged on the server)"
            ) from None


def _a(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


class Resource:
    """One API resource: its paths and its answers' shapes are known in its class, and only there."""

    def __init__(self, client: CallScalerClient) -> None:
        self._client = client

    async def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Answer:
        return Answer(await self._client.get(path, params), "GET", path, write=False)

    async def _send(self, method: str, path: str, body: Any = None, *, write: bool = True) -> Answer:
        """A request with a JSON body. A write (`write`) is sent once by the client, never retried after it
        may have arrived; a POST that only reads (the API takes its query as a body) passes write=False."""
        data = await self._client.request(method, path, json_body=body)
        return Answer(data, method, path, write=write)
