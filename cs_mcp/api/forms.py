"""Forms: the list, and one form with its fields and recent submissions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cs_mcp.api.resource import Items, Resource

# Submission keys that describe the submission rather than what the visitor typed.
SUBMISSION_META_KEYS = frozenset({"id", "submitted_at", "created_at", "source", "page_url", "form_id"})


def submission_answers(submission: Mapping[str, Any]) -> dict[str, Any]:
    """What the visitor entered, by field: the submission's `data` (or `values`, `fields`), or else its
    keys that are not about the submission itself."""
    answers = submission.get("data") or submission.get("values") or submission.get("fields")
    if isinstance(answers, dict):
        return answers
    return {k: v for k, v in submission.items() if k not in SUBMISSION_META_KEYS}


def submission_text(submission: Mapping[str, Any]) -> str:
    """The visitor's answers on one line: "field: value; ..." (empty answers left out)."""
    return "; ".join(f"{k}: {v}" for k, v in submission_answers(submission).items() if v not in (None, ""))


class Forms(Resource):
    async def get(self, form_id: object) -> dict[str, Any]:
        return (await self._get(f"/forms/{form_id}")).object("form")

    async def list(self) -> Items:
        return (await self._get("/forms")).items("forms")
