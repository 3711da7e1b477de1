"""What each endpoint does: reads and changes the sandbox state and returns the data to wrap.

A handler takes a `Req` and returns the value of `"data"` (the app adds the envelope and the status),
or a finished `Response` for the answers that are not enveloped JSON (CSV, audio, the legacy
transcription endpoint). Problems are raised as `ApiError`.
"""

from __future__ import annotations

import base64
import copy
import csv
import hashlib
import io
import random
import re
from collections import Counter
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from starlette.responses import JSONResponse, Response

from cs_mcp.sandbox.calls import (
    DAY_NUMBER,
    DURATION,
    GROUP_FIELDS,
    ID,
    MAX_GROUP_BY,
    MAX_LIMIT,
    METRICS,
    CallFilters,
    Tally,
    has_recording,
)
from cs_mcp.sandbox.calls import analytics as call_analytics
from cs_mcp.sandbox.formats import DAY, day_string, friendly_phone, is_uuid, iso, new_id, silent_mp3
from cs_mcp.sandbox.seed import AREAS, SEED, TOLL_FREE, State
from cs_mcp.sandbox.validation import ApiError, Fields, not_found, validate_flow_config

# Fields kept in the state for the sandbox's own use, never shown as such.
INTERNAL_FIELDS = frozenset({"versions", "number_ids", "submissions"})
RECENT_SUBMISSIONS = 10
PREVIEW_LENGTH = 100
MAX_SMS_LENGTH = 1600
MONTHLY_COST_CENTS = {"local": 115, "toll_free": 215}
# Days before `now` each period covers ("today": the 24 hours before it).
DASHBOARD_PERIODS = {"today": 1, "7d": 7, "30d": 30, "90d": 90, "all": None}
TOP = 5
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


@dataclass
class Req:
    """One API request, parsed: path parameters, query, JSON body, the caller's role, the API's base URL."""

    params: dict[str, Any]
    query: Fields
    body: Fields
    role: str
    base_url: str


def listing(key: str, items: list[Any]) -> dict[str, Any]:
    return {key: items, "total": len(items)}


def public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in INTERNAL_FIELDS}


def _in_inventory(phone: str) -> bool:
    """The carrier's stock: a fixed quarter of all numbers in the area codes the sandbox knows."""
    return phone[2:5] in AREAS and hashlib.blake2b(phone.encode(), digest_size=2).digest()[0] % 4 == 0


class Handlers:
    """The endpoints' behaviour over one sandbox's state (one method per route in app.ENDPOINTS)."""

    def __init__(self, state: State, anchor: int) -> None:
        self.state = state
        self.anchor = anchor
        self.rng = random.Random(f"{SEED}:runtime")
        self.changes = 0

    # --- shared helpers

    def stamp(self) -> str:
        """The time of a change: one second after the anchor per change (ordered and repeatable)."""
        self.changes += 1
        return iso(self.anchor + self.changes)

    def _find(self, key: str, ident: str) -> dict[str, Any] | None:
        items: list[dict[str, Any]] = self.state[key]  # type: ignore[literal-required]
        return next((item for item in items if item["id"] == ident), None)

    def item(self, key: str, ident: str, what: str) -> dict[str, Any]:
        """An item named in the path: 404 when there is none."""
        item = self._find(key, ident) if is_uuid(ident) else None
        if item is None:
            raise not_found(what, ident)
        return item

    def referenced(self, key: str, ident: str, field: str, what: str) -> dict[str, Any]:
        """An item named in the body: 422 when there is none."""
        item = self._find(key, ident)
        if item is None:
            raise ApiError(422, f"Field '{field}' refers to no {what} with id '{ident}'", field=field)
        return item

    def referenced_numbers(self, fields: Fields) -> list[dict[str, Any]]:
        return [self.referenced("numbers", i, "number_ids", "number") for i in fields.uuid_list("number_ids")]

    def flow_names(self) -> dict[str, str]:
        return {flow["id"]: flow["name"] for flow in self.state["call_flows"]}

    def number_view(self, number: dict[str, Any], flow_names: dict[str, str] | None = None) -> dict[str, Any]:
        names = self.flow_names() if flow_names is None else flow_names
        view: dict[str, Any] = {}
        for key, value in number.items():  # call_flow_name goes next to call_flow_id, as the API shows it
            view[key] = value
            if key == "call_flow_id":
                view["call_flow_name"] = names.get(value)
        return view

    def numbers_view(self, numbers: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names = self.flow_names()
        return [self.number_view(n, names) for n in numbers]

    def members(self, holder: dict[str, Any]) -> list[dict[str, Any]]:
        ids = set(holder["number_ids"])
        return [n for n in self.state["numbers"] if n["id"] in ids]

    def _new_holder(self, key: str, numbers: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
        """Create a group or pool holding `numbers`; answer it as shown."""
        holder = {
            "id": new_id(self.rng),
            **fields,
            "created_at": self.stamp(),
            "number_ids": [n["id"] for n in numbers],
        }
        self.state[key].append(holder)  # type: ignore[literal-required]
        return self.with_count(holder)

    def with_count(self, holder: dict[str, Any]) -> dict[str, Any]:
        """A group or pool as shown: its fields and how many numbers it holds."""
        return {**public(holder), "number_count": len(holder["number_ids"])}

    # --- numbers

    def list_numbers(self, req: Req) -> dict[str, Any]:
        numbers = self.state["numbers"]
        if not (req.query.present("page") or req.query.present("per_page")):
            return listing("numbers", self.numbers_view(numbers))
        page = req.query.integer("page", default=1, minimum=1, maximum=1_000_000)
        per_page = req.query.integer("per_page", default=50, minimum=1, maximum=MAX_LIMIT)
        chunk = self.numbers_view(numbers[(page - 1) * per_page : page * per_page])
        return {"numbers": chunk, "total": len(numbers), "page": page, "per_page": per_page}

    def export_numbers(self, req: Req) -> Response:
        out = io.StringIO()
        writer = csv.DictWriter(out, EXPORT_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for number in self.numbers_view(self.state["numbers"]):
            writer.writerow({**number, "sms_enabled": str(number["sms_enabled"]).lower()})
        return Response(
            out.getvalue(),
            media_type="text/csv",
            headers={"Content-Disposition": "attachment; filename=numbers.csv"},
        )

    def numbers_bulk_stats(self, req: Req) -> dict[str, Any]:
        numbers = self.state["numbers"]
        statuses = Counter(n["status"] for n in numbers)
        recent = CallFilters(start=self.anchor - 30 * DAY, number_ids={n["id"] for n in numbers})
        return {
            "total_numbers": len(numbers),
            "active": statuses["active"],
            "paused": statuses["paused"],
            "total_calls": sum(n["total_calls"] for n in numbers),
            "calls_last_30_days": len(recent.select(self.state["calls"])),
            "by_type": dict(Counter(n["type"] for n in numbers)),
        }

    def number_stats(self, req: Req) -> dict[str, Any]:
        number = self.item("numbers", req.params["id"], "number")
        start, end = CallFilters.parse_range(req.query)
        rows = CallFilters(start=start, end=end, number_ids={number["id"]}).select(self.state["calls"])
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

    def search_numbers(self, req: Req) -> dict[str, Any]:
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
        return {
            "numbers": [
                self._candidate(phone, kind) for phone in self._available(areas, contains or "", limit)
            ]
        }

    def _available(self, areas: list[str], contains: str, limit: int) -> list[str]:
        """Numbers in stock, not owned, containing `contains`: the same list for the same search."""
        if not set(areas) <= AREAS.keys():
            return []  # no stock in area codes the carrier does not serve
        rng = random.Random(f"inventory:{','.join(areas)}:{contains}")
        owned = {n["phone_number"] for n in self.state["numbers"]}
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

    @staticmethod
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

    def purchase_number(self, req: Req) -> dict[str, Any]:
        body = req.body
        body.only(("phone_number", "name", "call_flow_id"))
        phone = body.phone("phone_number", required=True)
        name = body.string("name", max_length=100) or friendly_phone(phone)
        flow_id = body.uuid("call_flow_id")
        if flow_id is not None:
            self.referenced("call_flows", flow_id, "call_flow_id", "call flow")
        if any(n["phone_number"] == phone for n in self.state["numbers"]):
            raise ApiError(409, f"{phone} is already one of this business's numbers")
        if not (phone.startswith("+1") and len(phone) == 12 and _in_inventory(phone)):
            raise ApiError(409, f"{phone} is not available for purchase; find one with POST /numbers/search")
        toll_free = phone[2:5] in TOLL_FREE
        number = {
            "id": new_id(self.rng),
            "phone_number": phone,
            "name": name,
            "status": "active",
            "call_flow_id": flow_id,
            "type": "toll_free" if toll_free else "local",
            "number_source": "owned",
            "total_calls": 0,
            "sms_enabled": not toll_free,
            "tcr_sw_state": "not_required" if toll_free else "approved",
            "created_at": self.stamp(),
        }
        self.state["numbers"].append(number)
        return {"number": self.number_view(number)}

    def update_number(self, req: Req) -> dict[str, Any]:
        number = self.item("numbers", req.params["id"], "number")
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
                flow_id and self.referenced("call_flows", flow_id, "call_flow_id", "call flow")["id"]
            )
        if body.present("status"):
            changes["status"] = body.choice("status", ("active", "paused"))
        number.update(changes)
        return {"number": self.number_view(number)}

    def release_number(self, req: Req) -> dict[str, Any]:
        number = self.item("numbers", req.params["id"], "number")
        self.state["numbers"].remove(number)
        for holder in (*self.state["number_groups"], *self.state["number_pools"]):
            if number["id"] in holder["number_ids"]:
                holder["number_ids"].remove(number["id"])
        return {"released": True, "id": number["id"]}

    # --- call flows

    def flow_view(self, flow: dict[str, Any]) -> dict[str, Any]:
        count = sum(1 for n in self.state["numbers"] if n["call_flow_id"] == flow["id"])
        return {**public(flow), "number_count": count}

    def list_flows(self, req: Req) -> dict[str, Any]:
        counts = Counter(n["call_flow_id"] for n in self.state["numbers"])
        fields = ("id", "name", "config_version", "updated_at")
        flows = [
            {**{k: f[k] for k in fields}, "number_count": counts[f["id"]]} for f in self.state["call_flows"]
        ]
        return listing("call_flows", flows)

    def get_flow(self, req: Req) -> dict[str, Any]:
        return self.flow_view(self.item("call_flows", req.params["id"], "call flow"))

    def _new_flow(self, name: str, config: dict[str, Any], req: Req) -> dict[str, Any]:
        at = self.stamp()
        flow = {
            "id": new_id(self.rng),
            "name": name,
            "config_json": config,
            "config_version": 1,
            "created_at": at,
            "updated_at": at,
            "versions": [
                {
                    "version": 1,
                    "created_at": at,
                    "created_by": _actor(req),
                    "config_json": copy.deepcopy(config),
                }
            ],
        }
        self.state["call_flows"].append(flow)
        return self.flow_view(flow)

    def _save_version(self, flow: dict[str, Any], config: dict[str, Any], req: Req) -> dict[str, Any]:
        """Every save makes a new version."""
        at = self.stamp()
        flow.update(config_json=config, config_version=flow["config_version"] + 1, updated_at=at)
        version = {"version": flow["config_version"], "created_at": at, "created_by": _actor(req)}
        flow["versions"].append({**version, "config_json": copy.deepcopy(config)})
        return self.flow_view(flow)

    def create_flow(self, req: Req) -> dict[str, Any]:
        req.body.only(("name", "config_json"))
        name = req.body.string("name", required=True, max_length=100)
        config = req.body.values.get("config_json")
        if config is None:
            req.body.fail("config_json", "is required")
        validate_flow_config(config)
        return self._new_flow(name, config, req)

    def update_flow(self, req: Req) -> dict[str, Any]:
        flow = self.item("call_flows", req.params["id"], "call flow")
        body = req.body
        body.only(("name", "config_json", "config_version"))
        if not (body.present("name") or body.present("config_json")):
            raise ApiError(422, "Send name and/or config_json to update the flow")
        expected = body.integer("config_version", minimum=1)
        if expected is not None and expected != flow["config_version"]:
            raise ApiError(
                409,
                f"config_version {expected} is stale: the flow is at version {flow['config_version']}."
                " Fetch the flow again and reapply your change.",
                current_version=flow["config_version"],
            )
        config = body.values.get("config_json", flow["config_json"])
        if body.present("config_json"):
            validate_flow_config(config)
        if body.present("name"):
            flow["name"] = body.string("name", required=True, max_length=100)
        return self._save_version(flow, config, req)

    def delete_flow(self, req: Req) -> dict[str, Any]:
        flow = self.item("call_flows", req.params["id"], "call flow")
        numbers = sum(1 for n in self.state["numbers"] if n["call_flow_id"] == flow["id"])
        pools = sum(1 for p in self.state["number_pools"] if p["call_flow_id"] == flow["id"])
        if numbers or pools:
            users = [
                f"{count} {what}{'s' if count != 1 else ''}"
                for count, what in ((numbers, "number"), (pools, "number pool"))
                if count
            ]
            raise ApiError(
                409,
                f"Call flow '{flow['name']}' is used by {' and '.join(users)};"
                " reassign or release them first",
                number_count=numbers,
                pool_count=pools,
            )
        self.state["call_flows"].remove(flow)
        return {"deleted": True, "id": flow["id"]}

    def flow_numbers(self, req: Req) -> dict[str, Any]:
        flow = self.item("call_flows", req.params["id"], "call flow")
        return listing(
            "numbers",
            self.numbers_view([n for n in self.state["numbers"] if n["call_flow_id"] == flow["id"]]),
        )

    def flow_versions(self, req: Req) -> dict[str, Any]:
        flow = self.item("call_flows", req.params["id"], "call flow")
        versions = [
            {k: v[k] for k in ("version", "created_at", "created_by")} for v in reversed(flow["versions"])
        ]
        return listing("versions", versions)

    def duplicate_flow(self, req: Req) -> dict[str, Any]:
        flow = self.item("call_flows", req.params["id"], "call flow")
        return self._new_flow(f"{flow['name']} (copy)", copy.deepcopy(flow["config_json"]), req)

    def restore_flow_version(self, req: Req) -> dict[str, Any]:
        flow = self.item("call_flows", req.params["id"], "call flow")
        wanted = req.params["version"]
        old = next((v for v in flow["versions"] if v["version"] == wanted), None)
        if old is None:
            raise ApiError(404, f"Call flow '{flow['name']}' has no version {wanted}")
        return self._save_version(flow, copy.deepcopy(old["config_json"]), req)

    # --- messaging

    def list_conversations(self, req: Req) -> dict[str, Any]:
        return listing("conversations", self.state["conversations"])

    def get_thread(self, req: Req) -> dict[str, Any]:
        contact = req.query.phone("contact", required=True)
        return listing(
            "texts", [t for t in self.state["texts"] if contact in (t["from_number"], t["to_number"])]
        )

    def list_sms_events(self, req: Req) -> dict[str, Any]:
        return listing("sms_events", self.state["sms_events"])

    def send_text(self, req: Req) -> dict[str, Any]:
        body = req.body
        body.only(("from_number", "to_number", "body"))
        sender, recipient = body.phone("from_number", required=True), body.phone("to_number", required=True)
        message = body.string("body", required=True, max_length=MAX_SMS_LENGTH)
        number = next((n for n in self.state["numbers"] if n["phone_number"] == sender), None)
        if number is None:
            body.fail("from_number", f"must be one of this business's numbers ({sender} is not)")
        if not number["sms_enabled"]:
            body.fail("from_number", f"{sender} is not SMS-enabled")
        text = {
            "id": new_id(self.rng),
            "direction": "outbound",
            "from_number": sender,
            "to_number": recipient,
            "body": message,
            "status": "sent",
            "created_at": self.stamp(),
        }
        self.state["texts"].append(text)
        self.state["sms_events"].insert(
            0,
            {
                "id": new_id(self.rng),
                "type": "outbound",
                "number": sender,
                "contact": recipient,
                "status": "sent",
                "created_at": text["created_at"],
            },
        )
        self._touch_conversation(text, recipient)
        return text

    def _touch_conversation(self, text: dict[str, Any], contact: str) -> None:
        """Move the contact's conversation to the top with this message (a reply marks it read)."""
        conversations = self.state["conversations"]
        conversation = next((c for c in conversations if c["contact"] == contact), None)
        if conversation is None:
            conversation = {"contact": contact, "contact_name": None, "unread": 0, "message_count": 0}
        else:
            conversations.remove(conversation)
        conversation.update(
            last_message_at=text["created_at"],
            last_message_preview=text["body"][:PREVIEW_LENGTH],
            unread=0,
            message_count=conversation["message_count"] + 1,
            tracking_number=text["from_number"],
        )
        conversations.insert(0, conversation)

    # --- number groups and pools

    def group_member_ids(self, group_id: str) -> set[str]:
        """For the number_group_id filter of the call endpoints."""
        group = self._find("number_groups", group_id)
        if group is None:
            raise ApiError(
                422,
                f"Query parameter 'number_group_id' refers to no number group with id '{group_id}'",
                field="number_group_id",
            )
        return set(group["number_ids"])

    def list_groups(self, req: Req) -> dict[str, Any]:
        return listing("number_groups", [self.with_count(g) for g in self.state["number_groups"]])

    def _group_name(self, req: Req, group_id: str | None = None) -> str:
        name = req.body.string("name", required=True, max_length=100)
        if any(
            g["name"].lower() == name.lower() and g["id"] != group_id for g in self.state["number_groups"]
        ):
            raise ApiError(409, f"A number group named '{name}' already exists")
        return name

    def create_group(self, req: Req) -> dict[str, Any]:
        req.body.only(("name", "number_ids"))
        name = self._group_name(req)
        numbers = self.referenced_numbers(req.body) if req.body.present("number_ids") else []
        return self._new_holder("number_groups", numbers, name=name)

    def update_group(self, req: Req) -> dict[str, Any]:
        group = self.item("number_groups", req.params["id"], "number group")
        req.body.only(("name",))
        group["name"] = self._group_name(req, group["id"])
        return self.with_count(group)

    def delete_group(self, req: Req) -> dict[str, Any]:
        group = self.item("number_groups", req.params["id"], "number group")
        self.state["number_groups"].remove(group)
        return {"deleted": True, "id": group["id"]}

    def group_members(self, req: Req) -> dict[str, Any]:
        group = self.item("number_groups", req.params["id"], "number group")
        return listing("numbers", self.numbers_view(self.members(group)))

    def add_group_members(self, req: Req) -> dict[str, Any]:
        group = self.item("number_groups", req.params["id"], "number group")
        req.body.only(("number_ids",))
        _add_members(group, self.referenced_numbers(req.body))
        return self.with_count(group)

    def remove_group_member(self, req: Req) -> dict[str, Any]:
        group = self.item("number_groups", req.params["id"], "number group")
        _remove_member(group, req.params["number_id"], "number group")
        return self.with_count(group)

    def list_pools(self, req: Req) -> dict[str, Any]:
        return listing("number_pools", [self.with_count(p) for p in self.state["number_pools"]])

    def get_pool(self, req: Req) -> dict[str, Any]:
        pool = self.item("number_pools", req.params["id"], "number pool")
        return {**self.with_count(pool), "numbers": self.numbers_view(self.members(pool))}

    def create_pool(self, req: Req) -> dict[str, Any]:
        body = req.body
        body.only(
            (
                "name",
                "website_url",
                "call_flow_id",
                "session_timeout_seconds",
                "fallback_number",
                "number_ids",
            )
        )
        name = body.string("name", required=True, max_length=100)
        url = body.string("website_url", required=True, max_length=500)
        if url is not None and not re.fullmatch(r"https?://[^\s/]+\.[^\s]+", url):
            body.fail("website_url", f"must be an http(s) URL such as https://example.com (got {url!r})")
        flow_id = body.uuid("call_flow_id")
        if flow_id is not None:
            self.referenced("call_flows", flow_id, "call_flow_id", "call flow")
        timeout = body.integer("session_timeout_seconds", default=1800, minimum=60, maximum=86_400)
        fallback = body.phone("fallback_number")
        numbers = self.referenced_numbers(body) if body.present("number_ids") else []
        self._check_pool_free(numbers)
        return self._new_holder(
            "number_pools",
            numbers,
            name=name,
            website_url=url,
            call_flow_id=flow_id,
            session_timeout_seconds=timeout,
            fallback_number=fallback,
        )

    def add_pool_numbers(self, req: Req) -> dict[str, Any]:
        pool = self.item("number_pools", req.params["id"], "number pool")
        req.body.only(("number_ids",))
        numbers = self.referenced_numbers(req.body)
        self._check_pool_free(numbers, pool)
        _add_members(pool, numbers)
        return self.with_count(pool)

    def _check_pool_free(self, numbers: list[dict[str, Any]], pool: dict[str, Any] | None = None) -> None:
        """A number serves one pool at a time (each pool swaps it onto its own website)."""
        for number in numbers:
            other = next(
                (p for p in self.state["number_pools"] if p is not pool and number["id"] in p["number_ids"]),
                None,
            )
            if other is not None:
                raise ApiError(
                    409, f"Number {number['phone_number']} is already in the pool '{other['name']}'"
                )

    def remove_pool_number(self, req: Req) -> dict[str, Any]:
        pool = self.item("number_pools", req.params["id"], "number pool")
        _remove_member(pool, req.params["number_id"], "number pool")
        return self.with_count(pool)

    # --- voicemails, forms, webhooks

    def list_voicemails(self, req: Req) -> dict[str, Any]:
        return listing("voicemails", self.state["voicemails"])

    def get_voicemail(self, req: Req) -> dict[str, Any]:
        return self.item("voicemails", req.params["id"], "voicemail")

    def voicemail_recording(self, req: Req) -> Response:
        voicemail = self.item("voicemails", req.params["id"], "voicemail")
        return _audio(voicemail["duration_seconds"])

    def form_view(self, form: dict[str, Any]) -> dict[str, Any]:
        submissions = form["submissions"]
        return {
            **public(form),
            "submission_count": len(submissions),
            "recent_submissions": submissions[:RECENT_SUBMISSIONS],
        }

    def list_forms(self, req: Req) -> dict[str, Any]:
        return listing("forms", [self.form_view(f) for f in self.state["forms"]])

    def get_form(self, req: Req) -> dict[str, Any]:
        return self.form_view(self.item("forms", req.params["id"], "form"))

    def list_deliveries(self, req: Req) -> dict[str, Any]:
        limit = req.query.integer("limit", default=50, minimum=1, maximum=MAX_LIMIT)
        offset = req.query.integer("offset", default=0, minimum=0)
        deliveries = self.state["webhook_deliveries"]
        return {"deliveries": deliveries[offset : offset + limit], "total": len(deliveries)}

    # --- calls and reporting

    def _filters(self, req: Req) -> CallFilters:
        return CallFilters.parse(req.query, self.group_member_ids)

    def list_calls(self, req: Req) -> dict[str, Any]:
        query = req.query
        filters = self._filters(req)
        limit = query.integer("limit", default=50, minimum=1, maximum=MAX_LIMIT)
        offset = query.integer("offset", default=0, minimum=0)
        if query.present("cursor"):  # a cursor wins over offset
            offset = _decode_cursor(query)
        rows = filters.select(self.state["calls"])
        table = self.state["calls"]
        more = offset + limit < len(rows)
        return {
            "calls": [table.as_dict(row, req.base_url) for row in rows[offset : offset + limit]],
            "total": len(rows),
            "has_more": more,
            "next_cursor": _encode_cursor(offset + limit) if more else None,
        }

    def _call(self, req: Req) -> tuple[Any, ...]:
        ident = req.params["id"]
        row = self.state["calls"].find(ident) if is_uuid(ident) else None
        if row is None:
            raise not_found("call", ident)
        return row

    def get_call(self, req: Req) -> dict[str, Any]:
        return self.state["calls"].detail(self._call(req), req.base_url)

    def call_recording(self, req: Req) -> Response:
        row = self._call(req)
        if not has_recording(row):
            raise ApiError(404, f"Call {row[ID]} has no recording")
        return _audio(row[DURATION])

    def call_transcription(self, req: Req) -> Response:
        """A legacy endpoint: the bare body, without the data envelope."""
        row = self._call(req)
        _, transcription = self.state["calls"].narrate(row)
        if transcription is None:
            raise ApiError(404, f"Call {row[ID]} has no transcription")
        return JSONResponse({"call_id": row[ID], "transcription": transcription})

    def analytics(self, req: Req) -> dict[str, Any]:
        filters = self._filters(req)
        group_by = req.query.csv("group_by", GROUP_FIELDS, default=[], max_items=MAX_GROUP_BY)
        metrics = req.query.csv("metrics", METRICS, default=["count"], max_items=len(METRICS))
        table = self.state["calls"]
        return call_analytics(table, filters.select(table), group_by, metrics)

    def dashboard_stats(self, req: Req) -> dict[str, Any]:
        period = req.query.choice("period", DASHBOARD_PERIODS, default="30d")
        days = DASHBOARD_PERIODS[period]
        filters = CallFilters(start=None if days is None else self.anchor - days * DAY)
        table = self.state["calls"]
        rows = filters.select(table)
        tally = Tally(rows)
        sources = call_analytics(table, rows, ["source"], ["count"])["rows"][:TOP]
        numbers = call_analytics(table, rows, ["number_id", "tracking_number"], ["count"])["rows"][:TOP]
        names = {n["id"]: n["name"] for n in self.state["numbers"]}
        return {
            "period": period,
            "start_date": None if filters.start is None else day_string(filters.start // DAY),
            "end_date": day_string(self.anchor // DAY),
            "total_calls": tally.count,
            "answered": tally.answered,
            "missed": tally.missed,
            "qualified": tally.qualified,
            "avg_duration_seconds": tally.avg_duration,
            "top_sources": [{"source": r["source"], "calls": r["count"]} for r in sources],
            "top_numbers": [
                {
                    "number_id": r["number_id"],
                    "phone_number": r["tracking_number"],
                    "name": names.get(r["number_id"]),
                    "calls": r["count"],
                }
                for r in numbers
            ],
        }


def _actor(req: Req) -> str:
    return f"API key ({req.role})"


def _add_members(holder: dict[str, Any], numbers: list[dict[str, Any]]) -> None:
    ids = holder["number_ids"]
    ids.extend(n["id"] for n in numbers if n["id"] not in ids)


def _remove_member(holder: dict[str, Any], number_id: str, what: str) -> None:
    if number_id not in holder["number_ids"]:
        raise ApiError(404, f"Number {number_id} is not in the {what} '{holder['name']}'")
    holder["number_ids"].remove(number_id)


def _audio(seconds: int) -> Response:
    return Response(silent_mp3(seconds), media_type="audio/mpeg")


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"calls:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(query: Fields) -> int:
    cursor = query.values["cursor"]
    try:
        prefix, _, offset = (
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition(":")
        )
        if prefix == "calls" and offset.isdigit():
            return int(offset)
    except ValueError:
        pass
    query.fail("cursor", "is not a cursor this API issued (use next_cursor from the previous page)")
