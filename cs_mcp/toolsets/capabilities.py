"""get_capabilities: what this server is, and what it hides and why."""

from __future__ import annotations

from pydantic import BaseModel, Field

from cs_mcp import catalogue
from cs_mcp.handlers import ToolCall
from cs_mcp.models import ToolInput


class NoArguments(ToolInput):
    pass


class Capabilities(BaseModel):
    role: str
    mode: str = Field(description="sandbox or live")
    toolsets: list[str]
    read_only: bool
    tools: int
    hidden: dict[str, str] = Field(description="tool -> why it is hidden")
    confirmation: dict[str, str]
    caps: dict[str, int]
    max_output_tokens: int


async def capabilities(call: ToolCall, params: NoArguments) -> Capabilities:
    settings = call.settings
    specs = catalogue.load()
    hidden = {s.name: reason for s in specs if (reason := catalogue.hidden_reason(s, settings))}
    confirmed = [s.name for s in specs if s.needs_confirmation and s.name not in hidden]
    return Capabilities(
        role=settings.role.label,
        mode="sandbox" if settings.sandbox else "live",
        toolsets=sorted(settings.toolsets) if settings.toolsets else list(catalogue.TOOLSETS),
        read_only=settings.read_only,
        tools=len(specs) - len(hidden),
        hidden=hidden,
        confirmation={
            "mode": settings.confirm_mode,
            "tools": ", ".join(n for n in confirmed if n != "send_sms" or settings.confirm_sms)
            or "(none visible)",
        },
        caps={
            "purchases_per_day": settings.caps.purchases_per_day,
            "sms_per_hour": settings.caps.sms_per_hour,
            "sms_recipients": settings.caps.sms_recipients,
        },
        max_output_tokens=settings.max_output_tokens,
    )
