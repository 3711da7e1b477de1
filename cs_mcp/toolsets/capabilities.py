"""get_capabilities: what this server is, what it hides and why, today's date, and what the figures mean."""

from __future__ import annotations

from pydantic import Field

from cs_mcp import definitions
from cs_mcp.guardrails.preview import GuardrailError
from cs_mcp.handlers import ToolCall
from cs_mcp.models import ToolInput
from cs_mcp.spec import TOOLSETS


class NoArguments(ToolInput):
    pass


class Capabilities(definitions.Clock):
    """The business's clock (today, time zone) first: every date question starts from it."""

    role: str
    mode: str = Field(description="sandbox or live")
    toolsets: list[str]
    read_only: bool
    tools: int
    hidden: dict[str, str] = Field(description="tool -> why it is hidden")
    confirmation: dict[str, str]
    caps: dict[str, int]
    max_output_tokens: int
    definitions: dict[str, str] = Field(description="what answered, missed, qualified, each period... mean")


async def capabilities(call: ToolCall, params: NoArguments) -> Capabilities:
    settings = call.settings
    specs = call.catalogue
    hidden = {s.name: reason for s in specs if (reason := settings.hidden_reason(s))}
    confirmed = [s.name for s in specs if s.name not in hidden and call.guardrails.requires_confirmation(s)]
    try:  # how this very client is asked: elicitation, or tokens
        this_client = next(
            (call.guardrails.confirmation_for(s, call.ctx) for s in specs if s.name in confirmed), "-"
        )
    except GuardrailError:
        this_client = "refused: --confirm elicit, and this client cannot elicit"
    meanings = dict(definitions.DEFINITIONS)
    if settings.sandbox:
        meanings["periods in the sandbox"] = definitions.SANDBOX_PERIODS
    now = definitions.clock(settings.time_zone)
    return Capabilities(
        **now.model_dump(),
        role=settings.role.label,
        mode="sandbox" if settings.sandbox else "live",
        toolsets=sorted(settings.toolsets) if settings.toolsets else list(TOOLSETS),
        read_only=settings.read_only,
        tools=len(specs) - len(hidden),
        hidden=hidden,
        confirmation={
            "mode": settings.confirm_mode,
            "this_client": this_client,
            "tools": ", ".join(confirmed) or "(none visible)",
            "audit_log": "on" if settings.audit_log else "off",
        },
        caps={
            "purchases_per_day": settings.caps.purchases_per_day,
            "sms_per_hour": settings.caps.sms_per_hour,
        },
        max_output_tokens=settings.max_output_tokens,
        definitions=meanings,
    )
