"""What toolsets share with the guardrails: confirmed arguments, the preview, the answer, the refusal."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from cs_mcp.models import LazyModel, ToolInput

ResultT = TypeVar("ResultT", bound=BaseModel)
TOKEN_ARGUMENT = "confirmation_token"


class ConfirmedInput(ToolInput):
    """Base of the arguments of every tool that may need confirmation."""

    confirmation_token: Annotated[
        str | None, Field(max_length=100, description="from the preview, once the user agreed")
    ] = None


class GuardrailError(Exception):
    """A guardrail refused the call; the message says why and what to do."""


# What a guarded tool would do, in plain words, with the facts behind it. (No docstrings on the
# models in outputSchema: pydantic would put them in every confirmed tool's schema, paid per request.)
class Preview(LazyModel):
    action: str
    details: dict[str, Any] = Field(default_factory=dict)
    irreversible: bool = False
    monthly_cost_cents: int | None = None
    # A routing change needs the user's word only when it sends calls somewhere new (its preview decides).
    required: bool = Field(True, exclude=True)

    def facts(self) -> list[tuple[str, str]]:
        """The details and cost as (label, value) lines, as the user reads them (text or approval page)."""
        facts = [(k.replace("_", " "), str(v)) for k, v in self.details.items() if v is not None]
        if self.monthly_cost_cents is not None:
            facts.append(("cost", f"{self.monthly_cost_cents / 100:.2f} USD per month"))
        return facts

    def describe(self) -> str:
        """The preview as the user reads it in an elicitation dialog or on a terminal."""
        lines = [self.action.rstrip(".") + "."]
        lines += [f"- {label}: {value}" for label, value in self.facts()]
        if self.irreversible:
            lines.append("This cannot be undone.")
        return "\n".join(lines)


# The answer of a guarded tool: a preview awaiting confirmation, or the outcome.
class Confirmable(LazyModel, Generic[ResultT]):
    status: Literal["needs_confirmation", "done", "declined"]
    preview: Preview
    confirmation_token: str | None = Field(None, description="pass back once the user agrees")
    result: ResultT | None = None
    message: str


# The elicitation form (no docstring: it would be sent as the form's description). `confirm` has no
# default: a form accepted without ticking it is a no.
class Approve(LazyModel):
    # The SDK renders `bool | None = None` as a plain boolean with no default.
    confirm: bool | None = Field(None, title="Yes, do it")

    @property
    def agreed(self) -> bool:
        return self.confirm is True
