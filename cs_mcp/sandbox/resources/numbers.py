"""Phone numbers: list, export, stats, search the carrier's stock, purchase, update, release."""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from operator import itemgetter
from typing import Any, NamedTuple

from starlette.responses import Response

from cs_mcp.sandbox.answers import csv_file, listing
from cs_mcp.sandbox.calls import DAY_NUMBER, MAX_LIMIT, CallFilters, Tally
from cs_mcp.sandbox.formats import DAY, day_string, friendly_phone
from cs_mcp.sandbox.routes import Req, RouteTable
from cs_mcp.sandbox.seed_data import AREAS, TOLL_FREE
from cs_mcp.sandbox.store import Store
from cs_mcp.sandbox.validation import ApiError

MONTHLY_COST_CENTS = {"local": 115, "toll_free": 215}
EXPORT_COLUMNS = (
    "id",
    "phone_number",
    "name",
    "status",
    "type",
    "call_flow_name",
    "total_calls",
    "sms_enabled",
    "created_at",
)

routes = RouteTable()


class Labels(NamedTuple):
    """What a number's view names from elsewhere, looked up once per answer."""

    flow_names: dict[str, str]  # flow id -> name
    first_groups: dict[str, dict[str, Any]]  # number id -> the first group (in list order) holding it


def labels(store: Store) -> Labels:
    first_groups: dict[str, dict[str, Any]] = {}
    for group in store.state["number_groups"]:
        for number_id in group["number_ids"]:
            first_groups.setdefault(number_id, group)
    return Labels({flow["id"]: flow["name"] for flow in store.state["call_flows"]}, first_groups)


def number_view(store: Store, number: dict[str, Any], known: Labels | None = None) -> dict[str, Any]:
    """A number as the API shows it: its phone number written for people (friendly_name) after it, its
    flow's name after call_flow_id, then the group holding it (the first one if several, else None)."""
    known = known or labels(store)
    group = known.first_groups.get(number["id"])
    view: dict[str, Any] = {}
    for key, value in number.items():
        view[key] = value
        if key == "phone_number":
            view["friendly_name"] = friendly_phone(value)
        elif key == "call_flow_id":
            view["call_flow_name"] = known.flow_names.get(value)
            view["group_id"] = group["id"] if group else None
            view["group_name"] = group["name"] if group else None
    return view


def numbers_view(store: Store, numbers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    known = labels(store)
    return [number_view(store, n, known) for n in numbers]


@routes.get("/numbers")
def list_numbers(store: Store, req: Req) -> dict[str, Any]:
    numbers = store.state["numbers"]
    if not (req.query.present("page") or req.query.present("per_page")):
        return listing("numbers", numbers_view(store, numbers))
    page = req.query.integer("page", default=1, minimum=1, maximum=1_000_000)
    per_page = req.query.integer("per_page", default=50, minimum=1, maximum=MAX_LIMIT)
    chunk = numbers_view(store, numbers[(page - 1) * per_page : page * per_page])
    return {"numbers": chunk, "total": len(numbers), "page": page, "per_page": per_page}


@routes.get("/numbers/export")
def export_numbers(store: Store, req: Req) -> Response:
    return csv_file("numbers.csv", EXPORT_COLUMNS, numbers_view(store, store.state["numbers"]))


@routes.get("/numbers/bulk-stats")
def numbers_bulk_stats(store: Store, req: Req) -> dict[str, Any]:
    numbers = store.state["numbers"]
    statuses = Counter(n["status"] for n in numbers)
    recent = CallFilters(start=store.anchor - 30 * DAY, number_ids={n["id"] for n in numbers})
    return {
        "total_numbers": len(numbers),
        "active": statuses["active"],
        "paused": statuses["paused"],
        "total_calls": sum(n["total_calls"] for n in numbers),
        "calls_last_30_days": len(recent.select(store.state["calls"])),
        "by_type": dict(Counter(n["type"] for n in numbers)),
    }


@routes.get("/numbers/{id}/stats")
def number_stats(store: Store, req: Req) -> dict[str, Any]:
    number = store.item("numbers", req.params["id"], "number")
    start, end = CallFilters.parse_range(req.query)
    rows = CallFilters(start=start, end=end, number_ids={number["id"]}).select(store.state["calls"])
    tally = Tally(rows)
    by_day = Counter(map(itemgetter(DAY_NUMBER), rows))
    return {
        "number_id": number["id"],
        "total_calls": tally.count,
        "answered": tally.answered,
        "missed": tally.missed,
        "voicemails": tally.voicemails,
        "avg_duration_seconds": tally.avg_duration,
        "qualified": tally.qualified,
        "by_day": [{"date": day_string(day), "calls": by_day[day]} for day in sorted(by_day)],
    }


@routes.post("/numbers/search", changes_state=False)
def search_numbers(store: Store, req: Req) -> dict[str, Any]:
    body = req.body
    body.only(("area_code", "type", "contains", "limit"))
    kind = body.choice("type", ("local", "toll_free"), default="local")
    area = body.string("area_code", required=kind == "local", max_length=3)
    if area is not None and not re.fullmatch(r"[2-9]\d\d", area):
        body.fail("area_code", f"must be a 3-digit area code such as 813 (got {area!r})")
    if area is not None and (area in TOLL_FREE) != (kind == "toll_free"):
        fitting = "toll_free" if area in TOLL_FREE else "local"
        body.fail("area_code", f"{area} is a {fitting.replace('_', '-')} area code: send type {fitting}")
    contains = body.string("contains", max_length=7)
    if contains is not None and not contains.isdigit():
        body.fail("contains", f"must be 1 to 7 digits (got {contains!r})")
    limit = body.integer("limit", default=10, minimum=1, maximum=50)
    areas = [area] if area else sorted(TOLL_FREE)
    return {"numbers": [_candidate(phone, kind) for phone in _available(store, areas, contains or "", limit)]}


@routes.post("/numbers/purchase", status=201)
def purchase_number(store: Store, req: Req) -> dict[str, Any]:
    body = req.body
    body.only(("phone_number", "name", "call_flow_id"))
    phone = body.phone("phone_number", required=True)
    name = body.string("name", max_length=100) or friendly_phone(phone)
    flow_id = body.uuid("call_flow_id")
    if flow_id is not None:
        store.referenced("call_flows", flow_id, "call_flow_id", "call flow")
    if any(n["phone_number"] == phone for n in store.state["numbers"]):
        raise ApiError(409, f"{phone} is already one of this business's numbers")
    if not (phone.startswith("+1") and len(phone) == 12 and _in_inventory(phone)):
        raise ApiError(409, f"{phone} is not available for purchase; find one with POST /numbers/search")
    toll_free = phone[2:5] in TOLL_FREE
    number = {
        "id": store.new_id(),
        "phone_number": phone,
        "name": name,
        "status": "active",
        "call_flow_id": flow_id,
        "type": "toll_free" if toll_free else "local",
        "number_source": "owned",
        "total_calls": 0,
        "sms_enabled": not toll_free,
        "tcr_sw_state": "not_required" if toll_free else "approved",
        "created_at": store.stamp(),
    }
    store.state["numbers"].append(number)
    return {"number": number_view(store, number)}


@routes.patch("/numbers/{id}")
def update_number(store: Store, req: Req) -> dict[str, Any]:
    number = store.item("numbers", req.params["id"], "number")
    body = req.body
    body.only(("name", "call_flow_id", "status"))
    if not body.values:
        raise ApiError(422, "Send at least one of name, call_flow_id, status")
    changes: dict[str, Any] = {}
    if body.present("name"):
        changes["name"] = body.string("name", required=True, max_length=100)
    if body.present("call_flow_id"):  # null unassigns the number
        flow_id = body.uuid("call_flow_id")
        changes["call_flow_id"] = (
            flow_id and store.referenced("call_flows", flow_id, "call_flow_id", "call flow")["id"]
        )
    if body.present("status"):
        changes["status"] = body.choice("status", ("active", "paused"))
    number.update(changes)
    return {"number": number_view(store, number)}


@routes.delete("/numbers/{id}")
def release_number(store: Store, req: Req) -> dict[str, Any]:
    number = store.item("numbers", req.params["id"], "number")
    store.state["numbers"].remove(number)
    for holder in (*store.state["number_groups"], *store.state["number_pools"]):
        if number["id"] in holder["number_ids"]:
            holder["number_ids"].remove(number["id"])
    return {"released": True, "id": number["id"]}


def _in_inventory(phone: str) -> bool:
    """The carrier's stock: a fixed quarter of all numbers in the area codes the sandbox knows."""
    return phone[2:5] in AREAS and hashlib.blake2b(phone.encode(), digest_size=2).digest()[0] % 4 == 0


def _available(store: Store, areas: list[str], contains: str, limit: int) -> list[str]:
    """Numbers in stock, not owned, containing `contains`: the same list for the same search."""
    if not set(areas) <= AREAS.keys():
        return []  # no stock in area codes the carrier does not serve
    rng = random.Random(f"inventory:{','.join(areas)}:{contains}")
    owned = {n["phone_number"] for n in store.state["numbers"]}
    found: list[str] = []
    for attempt in range(4000):
        tail = f"{rng.randrange(2_000_000, 10_000_000)}"
        if contains:
            at = rng.randrange(0, 8 - len(contains))
            tail = tail[:at] + contains + tail[at + len(contains) :]
        phone = f"+1{areas[attempt % len(areas)]}{tail}"
        if tail[0] not in "01" and phone not in owned and phone not in found and _in_inventory(phone):
            found.append(phone)
            if len(found) == limit:
                break
    return found


def _candidate(phone: str, kind: str) -> dict[str, Any]:
    region, locality = AREAS[phone[2:5]]
    return {
        "phone_number": phone,
        "friendly_name": friendly_phone(phone),
        "region": region,
        "locality": locality,
        "type": kind,
        "monthly_cost_cents": MONTHLY_COST_CENTS[kind],
        "capabilities": {"voice": True, "sms": kind == "local", "mms": kind == "local"},
    }
