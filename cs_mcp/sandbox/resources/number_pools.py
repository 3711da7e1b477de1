"""Number pools: numbers swapped onto a website (dynamic number insertion), one pool per number."""

from __future__ import annotations

import re
from typing import Any

from cs_mcp.sandbox.answers import listing
from cs_mcp.sandbox.resources.membership import add_members, members, new_holder, remove_member, with_count
from cs_mcp.sandbox.resources.numbers import numbers_view
from cs_mcp.sandbox.routes import Req, RouteTable
from cs_mcp.sandbox.store import Store
from cs_mcp.sandbox.validation import ApiError

POOL_FIELDS = (
    "name",
    "website_url",
    "call_flow_id",
    "session_timeout_seconds",
    "fallback_number",
    "number_ids",
)

routes = RouteTable()


@routes.get("/number-pools")
def list_pools(store: Store, req: Req) -> dict[str, Any]:
    return listing("number_pools", [with_count(p) for p in store.state["number_pools"]])


@routes.post("/number-pools", status=201)
def create_pool(store: Store, req: Req) -> dict[str, Any]:
    body = req.body
    body.only(POOL_FIELDS)
    name = body.string("name", required=True, max_length=100)
    url = body.string("website_url", required=True, max_length=500)
    if url is not None and not re.fullmatch(r"https?://[^\s/]+\.[^\s]+", url):
        body.fail("website_url", f"must be an http(s) URL such as https://example.com (got {url!r})")
    flow_id = body.uuid("call_flow_id")
    if flow_id is not None:
        store.referenced("call_flows", flow_id, "call_flow_id", "call flow")
    timeout = body.integer("session_timeout_seconds", default=1800, minimum=60, maximum=86_400)
    fallback = body.phone("fallback_number")
    numbers = store.referenced_numbers(body) if body.present("number_ids") else []
    _check_pool_free(store, numbers)
    return new_holder(
        store,
        "number_pools",
        numbers,
        name=name,
        website_url=url,
        call_flow_id=flow_id,
        session_timeout_seconds=timeout,
        fallback_number=fallback,
    )


@routes.get("/number-pools/{id}")
def get_pool(store: Store, req: Req) -> dict[str, Any]:
    pool = store.item("number_pools", req.params["id"], "number pool")
    return {**with_count(pool), "numbers": numbers_view(store, members(store, pool))}


@routes.post("/number-pools/{id}/numbers")
def add_pool_numbers(store: Store, req: Req) -> dict[str, Any]:
    pool = store.item("number_pools", req.params["id"], "number pool")
    req.body.only(("number_ids",))
    numbers = store.referenced_numbers(req.body)
    _check_pool_free(store, numbers, pool)
    add_members(pool, numbers)
    return with_count(pool)


@routes.delete("/number-pools/{id}/numbers/{number_id}")
def remove_pool_number(store: Store, req: Req) -> dict[str, Any]:
    return remove_member(store, "number_pools", req.params["id"], req.params["number_id"], "number pool")


def _check_pool_free(store: Store, numbers: list[dict[str, Any]], pool: dict[str, Any] | None = None) -> None:
    """A number serves one pool at a time (each pool swaps it onto its own website)."""
    for number in numbers:
        other = next(
            (p for p in store.state["number_pools"] if p is not pool and number["id"] in p["number_ids"]),
            None,
        )
        if other is not None:
            raise ApiError(409, f"Number {number['phone_number']} is already in the pool '{other['name']}'")
