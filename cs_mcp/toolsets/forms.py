"""Forms: the business's web forms and their (untrusted) submissions, summarised."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from pydantic import Field

from cs_mcp.api.forms import submission_text
from cs_mcp.budget import clip
from cs_mcp.filters import Contains, NonZero
from cs_mcp.handlers import ToolCall
from cs_mcp.listing import ListQuery, Page
from cs_mcp.models import ApiObject, Id, LazyModel, ToolInput, UntrustedText
from cs_mcp.spec import ToolFunctions

SUBMISSION_CHARS = 300


class FormItem(ApiObject):
    id: str | None = None
    name: str | None = None
    submission_count: int | None = None


FormPage = Page[FormItem]


class ListForms(ListQuery):
    name: Annotated[str | None, Field(max_length=60), Contains(("name",))] = None
    has_submissions: Annotated[bool | None, NonZero("submission_count")] = None


class GetForm(ToolInput):
    form_id: Id
    recent: Annotated[int, Field(ge=0, le=20)] = 5


class Submission(LazyModel):
    id: str | None = None
    submitted_at: str | None = None
    source: str | None = None
    content: UntrustedText  # what the visitor entered, as "field: value" pairs


class Form(LazyModel):
    id: str
    name: str | None = None
    submission_count: int | None = None
    fields: list[str] = Field(default_factory=list)
    summary: dict[str, Any] = Field(
        default_factory=dict, description="over the recent submissions the API returns"
    )
    submissions: list[Submission] = Field(default_factory=list)


def _field_name(field: Any) -> str:
    if isinstance(field, dict):
        return str(field.get("label") or field.get("name") or field.get("key") or field)
    return str(field)


def _submission(raw: Any) -> Submission:
    """One submission; the visitor's answers are flattened to one line of untrusted text."""
    if not isinstance(raw, dict):
        return Submission(content=clip(str(raw), SUBMISSION_CHARS)[0] or "")
    content = submission_text(raw)
    return Submission(
        id=raw.get("id"),
        submitted_at=raw.get("submitted_at") or raw.get("created_at"),
        source=raw.get("source"),
        content=clip(content, SUBMISSION_CHARS)[0] or "",
    )


async def get_form(call: ToolCall, params: GetForm) -> Form:
    data = await call.api.forms.get(params.form_id)
    recent = [_submission(raw) for raw in data.get("recent_submissions") or []]
    recent.sort(key=lambda s: s.submitted_at or "", reverse=True)
    days = [s.submitted_at[:10] for s in recent if s.submitted_at]
    summary: dict[str, Any] = {"recent": len(recent)}
    if days:
        summary["first"], summary["last"] = min(days), max(days)
    if sources := Counter(s.source for s in recent if s.source):
        summary["by_source"] = dict(sources.most_common(8))
    return Form(
        id=str(data.get("id") or params.form_id),
        name=data.get("name"),
        submission_count=data.get("submission_count"),
        fields=[_field_name(f) for f in data.get("fields") or []],
        summary=summary,
        submissions=recent[: params.recent],
    )


# What each tool of this toolset runs beyond the generic handlers (see cs_mcp/catalogue.py).
TOOLS = {
    "get_form": ToolFunctions(handler=get_form),
}
