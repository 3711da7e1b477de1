"""Website forms and their most recent submissions."""

from __future__ import annotations

from typing import Any

from cs_mcp.sandbox.answers import listing, public
from cs_mcp.sandbox.routes import Req, RouteTable
from cs_mcp.sandbox.store import Store

RECENT_SUBMISSIONS = 10

routes = RouteTable()


@routes.get("/forms")
def list_forms(store: Store, req: Req) -> dict[str, Any]:
    return listing("forms", [_form_view(f) for f in store.state["forms"]])


@routes.get("/forms/{id}")
def get_form(store: Store, req: Req) -> dict[str, Any]:
    return _form_view(store.item("forms", req.params["id"], "form"))


def _form_view(form: dict[str, Any]) -> dict[str, Any]:
    submissions = form["submissions"]
    return {
        **public(form),
        "submission_count": len(submissions),
        "recent_submissions": submissions[:RECENT_SUBMISSIONS],
    }
