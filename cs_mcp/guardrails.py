"""Guardrails: a human confirms every purchase, release, deletion and SMS before it happens.

Token mode (any client): the first call changes nothing and returns a preview plus a
`confirmation_token`. The token lives only in this server's memory, is single-use, expires after
five minutes, and is bound to the tool, the exact arguments and the principal; only a second call
with the same arguments and that token acts. Before acting the preview is computed again: if the
target changed since the user saw it, nothing happens and a fresh preview is returned.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from cs_mcp.config import Settings
from cs_mcp.models import ToolInput

if TYPE_CHECKING:
    from cs_mcp.handlers import ToolCall

TOKEN_TTL_SECONDS = 300
TOKEN_ARGUMENT = "confirmation_token"
ResultT = TypeVar("ResultT", bound=BaseModel)


class ConfirmedInput(ToolInput):
    """Base of the arguments of every tool that needs confirmation."""

    confirmation_token: Annotated[
        str | None, Field(max_length=100, description="from the preview; only once the user agreed")
    ] = None


class GuardrailError(Exception):
    """A guardrail refused the call; the message says why and what to do."""


class Preview(BaseModel):
    """What a confirmed tool would do, in plain words, with the facts behind it."""

    action: str = Field(description="what will happen, in plain words")
    details: dict[str, Any] = Field(default_factory=dict)
    irreversible: bool = False
    monthly_cost_cents: int | None = None


class Confirmable(BaseModel, Generic[ResultT]):
    """The answer of a confirmed tool: a preview awaiting confirmation, or the outcome."""

    status: Literal["needs_confirmation", "done", "declined"]
    preview: Preview
    confirmation_token: str | None = Field(
        None, description="pass back unchanged, with the same arguments, once the user agrees"
    )
    expires_in_seconds: int | None = None
    result: ResultT | None = None
    message: str


@dataclass
class _Pending:
    tool: str
    arguments: str
    principal: str
    preview: str
    expires_at: float


def _fingerprint(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


class Guardrails:
    """Confirmation state for one server process."""

    DESCRIPTION_SUFFIX = (
        "Needs the user's confirmation: the first call changes nothing and returns a preview; show it to the "
        "user, and only if they agree call again with the same arguments and the confirmation_token."
    )

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self._pending: dict[str, _Pending] = {}
        self.principal = _fingerprint(settings.api_key.reveal())[:16]

    @staticmethod
    def output_model(result_model: type[BaseModel]) -> type[BaseModel]:
        return Confirmable[result_model]  # type: ignore[valid-type]

    def _issue(self, tool: str, arguments: str, preview: Preview) -> str:
        now = self.clock()
        self._pending = {k: v for k, v in self._pending.items() if v.expires_at > now}
        token = secrets.token_urlsafe(18)
        self._pending[token] = _Pending(
            tool, arguments, self.principal, _fingerprint(preview.model_dump()), now + TOKEN_TTL_SECONDS
        )
        return token

    def _redeem(self, token: str, tool: str, arguments: str) -> _Pending:
        # Popped before any await: a token can confirm one call, however many arrive at once.
        pending = self._pending.pop(token, None)
        if pending is None:
            raise GuardrailError(
                "confirmation_token is not valid (unknown, already used, or made up). Nothing was done. "
                "Call again without it to get a fresh preview and show it to the user."
            )
        if pending.expires_at <= self.clock():
            raise GuardrailError(
                "confirmation_token has expired (5 minutes). Nothing was done. Call again without it for a fresh preview."
            )
        if pending.tool != tool or pending.principal != self.principal:
            raise GuardrailError(
                f"confirmation_token was issued for another tool or caller, not {tool}. Nothing was done."
            )
        if pending.arguments != arguments:
            raise GuardrailError(
                "confirmation_token was issued for other arguments. Nothing was done. "
                "Confirm exactly what the user saw, or call again without a token for a new preview."
            )
        return pending

    async def confirm_then(
        self,
        call: ToolCall,
        params: BaseModel,
        act: Callable[[ToolCall, BaseModel], Awaitable[BaseModel]],
    ) -> BaseModel:
        from cs_mcp.handlers import preview_for

        token = getattr(params, TOKEN_ARGUMENT, None)
        arguments = _fingerprint(params.model_dump(mode="json", exclude={TOKEN_ARGUMENT}))
        preview = await preview_for(call, params)
        if not token:
            return self._needs_confirmation(call, arguments, preview)
        pending = self._redeem(token, call.spec.name, arguments)
        if pending.preview != _fingerprint(preview.model_dump()):
            answer = self._needs_confirmation(call, arguments, preview)
            answer.message = (
                "The target changed since the preview; nothing was done. Show this new preview to the user."
            )
            return answer
        result = await act(call, params)
        return self.output_model(call.spec.output_model)(
            status="done", preview=preview, result=result, message="Done: " + preview.action
        )

    def _needs_confirmation(self, call: ToolCall, arguments: str, preview: Preview) -> Confirmable[Any]:
        token = self._issue(call.spec.name, arguments, preview)
        return Confirmable[Any](
            status="needs_confirmation",
            preview=preview,
            confirmation_token=token,
            expires_in_seconds=TOKEN_TTL_SECONDS,
            message="Nothing was done yet. Show the preview to the user; call again with the token only if they agree.",
        )
