"""The seed generator: turns the tables of `seed_data` into the sandbox's state, `scale` times over.

Everything comes from `random.Random` with fixed seeds (one per replica of the business), and every
timestamp is relative to the `now` anchor, so the same scale and anchor give identical data.
"""

from __future__ import annotations

import base64
import copy
import math
import random
from collections import Counter
from datetime import datetime
from itertools import accumulate
from operator import itemgetter
from typing import Any

from cs_mcp.sandbox.calls import (
    AI_CATEGORY,
    CALLER,
    DIRECTION,
    DURATION,
    ID,
    LINE,
    STATUS,
    TRANSCRIBED,
    TS,
    Attribution,
    Caller,
    CallTable,
    Line,
    Row,
)
from cs_mcp.sandbox.formats import DAY, epoch, iso, new_id
from cs_mcp.sandbox.seed_data import (
    ADDED_FLOW_TEMPLATES,
    AGENTS,
    AREAS,
    CALLER_AREAS,
    CALLERS_PER_REPLICA,
    CALLS_PER_REPLICA,
    CATEGORIES,
    CONVERSATIONS_PER_REPLICA,
    DELIVERIES_PER_REPLICA,
    DIRECT,
    FIRST_NAMES,
    FLOW_DESTINATION,
    FLOW_TEMPLATES,
    FORM_TEMPLATES,
    GROUP_TEMPLATES,
    HISTORY_DAYS,
    HOUR_WEIGHTS,
    INJECTION_SAMPLES,
    INJECTION_TEXTS,
    ISSUES,
    LANDING_PATHS,
    LAST_NAMES,
    NUMBER_TEMPLATES,
    OFFICE,
    POOL_TEMPLATES,
    QUALIFYING,
    SCRIPT_OF,
    SCRIPTS,
    SEED,
    SERVICES,
    STAFF,
    STATUS_WEIGHTS,
    THREADS,
    TOLL_FREE,
    VALUES,
    VOICEMAIL_SCRIPTS,
    WEB_ATTRIBUTIONS,
    WEBHOOK_EVENTS,
    WEBHOOK_URLS,
    WHEN,
    ZIPS,
    InjectionSample,
)
from cs_mcp.sandbox.state import State

# Kept importable from here for the tests and tools that name the samples by this module.
__all__ = ["INJECTION_SAMPLES", "INJECTION_TEXTS", "InjectionSample", "State", "build_state"]


def build_state(scale: int, now: datetime) -> State:
    """Build the seeded business `scale` times over; replica 0 is the same at every scale."""
    anchor = epoch(now)
    used_phones: set[str] = set()
    replicas = [_Replica(k, anchor, used_phones) for k in range(scale)]
    rows: list[Row] = []
    lines: list[Line] = []
    callers: list[Caller] = []
    for replica in replicas:  # a replica's rows point into its own lines and callers: shift them
        rows.extend(
            (r[ID], r[TS], r[LINE] + len(lines), r[CALLER] + len(callers), *r[DIRECTION:])
            for r in replica.rows
        )
        lines.extend(replica.lines)
        callers.extend(replica.callers)
    merged = {key: [item for replica in replicas for item in getattr(replica, key)] for key in _LISTS}
    for key, newest_first_by in _LISTS.items():
        if newest_first_by:
            merged[key].sort(key=itemgetter(newest_first_by), reverse=True)
    return State(calls=CallTable(rows, lines, callers, ATTRIBUTIONS, _narrate), **merged)  # type: ignore[typeddict-item]


# The state's lists, and the field that orders each newest first (None: kept in creation order).
_LISTS: dict[str, str | None] = {
    "numbers": None,
    "call_flows": None,
    "conversations": "last_message_at",
    "texts": None,
    "sms_events": "created_at",
    "voicemails": "created_at",
    "number_groups": None,
    "number_pools": None,
    "forms": None,
    "webhook_deliveries": "created_at",
}


class _Replica:
    """One copy of the business; copy k > 0 gets " #<k+1>" after its names and its own random streams."""

    def __init__(self, k: int, anchor: int, used_phones: set[str]) -> None:
        self.rng = random.Random(f"{SEED}:{k}")
        # What was added to the data later (with the docs of 2026-12-01) is drawn from this second
        # stream, so every earlier draw, and with it every earlier id and value, stays as it was.
        self.added = random.Random(f"{SEED}:{k}:added")
        self.k = k
        self.anchor = anchor
        self.midnight = anchor // DAY * DAY
        self.suffix = f" #{k + 1}" if k else ""
        self.used_phones = used_phones
        earlier_flows = self._flows(FLOW_TEMPLATES, self.rng)
        self.call_flows = earlier_flows + self._flows(ADDED_FLOW_TEMPLATES, self.added)
        flow_keys = (t[0] for t in (*FLOW_TEMPLATES, *ADDED_FLOW_TEMPLATES))
        self.flow_by_key = dict(zip(flow_keys, self.call_flows, strict=True))
        self.numbers = self._numbers()
        self.callers = self._callers()
        self.lines = [self._line(n, t) for n, t in zip(self.numbers, NUMBER_TEMPLATES, strict=True)]
        self.rows = self._calls()
        calls_per_line = Counter(row[LINE] for row in self.rows)
        for i, number in enumerate(self.numbers):
            number["total_calls"] = calls_per_line[i]
        self.voicemails = self._voicemails()
        self.conversations, self.texts, self.sms_events = self._messaging()
        self.number_groups = self._groups()
        self.number_pools = self._pools()
        self.forms = self._forms()
        self.webhook_deliveries = self._deliveries()

    # helpers

    def _id(self) -> str:
        return new_id(self.rng)

    def _ago(self, max_days: float, min_days: float = 0, rng: random.Random | None = None) -> int:
        return int(self.anchor - DAY * (rng or self.rng).uniform(min_days, max_days))

    def _phone(self, area: str) -> str:
        while True:
            exchange = self.rng.randrange(200, 1000)
            if exchange % 100 == 11 or exchange == 555:
                continue
            phone = f"+1{area}{exchange}{self.rng.randrange(10_000):04d}"
            if phone not in self.used_phones:
                self.used_phones.add(phone)
                return phone

    # resources

    def _flows(
        self, templates: tuple[tuple[str, str, int, dict[str, Any]], ...], rng: random.Random
    ) -> list[dict[str, Any]]:
        flows = []
        for _, name, count, config in templates:
            created, last_saved = self._ago(600, 400, rng), self._ago(90, 3, rng)
            versions = []
            for v in range(1, count + 1):
                at = created + (v - 1) * (last_saved - created) // max(count - 1, 1)
                versions.append(
                    {
                        "version": v,
                        "created_at": iso(at),
                        "created_by": rng.choice(STAFF),
                        "config_json": _revision(config, v, count),
                    }
                )
            flows.append(
                {
                    "id": new_id(rng),
                    "name": name + self.suffix,
                    "config_json": copy.deepcopy(config),
                    "config_version": count,
                    "created_at": iso(created),
                    "updated_at": versions[-1]["created_at"],
                    "versions": versions,
                }
            )
        return flows

    def _numbers(self) -> list[dict[str, Any]]:
        numbers = []
        for name, area, _source, _utm, flow_key, _weight, flags in NUMBER_TEMPLATES:
            toll_free = area in TOLL_FREE
            flow = self.flow_by_key[flow_key] if flow_key and "u" not in flags else None
            numbers.append(
                {
                    "id": self._id(),
                    "phone_number": self._phone(area),
                    "name": name + self.suffix,
                    "status": "paused" if "p" in flags else "active",
                    "call_flow_id": flow["id"] if flow else None,
                    "type": "toll_free" if toll_free else "local",
                    "number_source": "assigned" if "a" in flags else "owned",
                    "total_calls": 0,
                    "sms_enabled": not toll_free and "n" not in flags,
                    "tcr_sw_state": "not_required" if toll_free else "approved",
                    "created_at": iso(self._ago(900, 200)),
                }
            )
        return numbers

    def _line(self, number: dict[str, Any], template: tuple[Any, ...]) -> Line:
        flow = self.flow_by_key.get(template[4])
        return Line(
            number["id"],
            number["phone_number"],
            flow["id"] if flow else None,
            flow["name"] if flow else None,
            FLOW_DESTINATION.get(template[4], OFFICE),
        )

    def _callers(self) -> list[Caller]:
        callers = []
        for _ in range(CALLERS_PER_REPLICA):
            roll = self.rng.random()
            first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
            area = self.rng.choice(CALLER_AREAS)
            if roll < 0.72:
                name: str | None = f"{first} {last}"
            elif roll < 0.82:
                name = f"{last.upper()} {first.upper()}"  # CNAM style
            elif roll < 0.9:
                name = "WIRELESS CALLER"
            else:
                name = None
            callers.append(_caller(self._phone(area), name))
        if self.k == 0:
            callers.append(_caller(self._phone("813"), INJECTION_TEXTS["caller_name"]))
        return callers

    def _calls(self) -> list[Row]:
        rng = self.rng
        weights = [t[5] for t in NUMBER_TEMPLATES]
        line_of_call = rng.choices(range(len(NUMBER_TEMPLATES)), weights, k=CALLS_PER_REPLICA)
        hours = rng.choices(range(24), HOUR_WEIGHTS, k=CALLS_PER_REPLICA)
        statuses = rng.choices(
            [s for s, _ in STATUS_WEIGHTS], [w for _, w in STATUS_WEIGHTS], k=CALLS_PER_REPLICA
        )
        categories = rng.choices(CATEGORIES, [w for _, w, _ in CATEGORIES], k=CALLS_PER_REPLICA)
        # Repeat callers: the first callers in the list call far more often than the last ones.
        caller_weights = list(accumulate(1 / math.sqrt(i + 1) for i in range(CALLERS_PER_REPLICA)))
        callers = rng.choices(range(CALLERS_PER_REPLICA), cum_weights=caller_weights, k=CALLS_PER_REPLICA)
        own = [
            None if (a := _own_attribution(t)) is None else ATTRIBUTION_INDEX.get(a) for t in NUMBER_TEMPLATES
        ]
        web = [ATTRIBUTION_INDEX[a] for a in WEB_ATTRIBUTIONS]
        direct = ATTRIBUTION_INDEX[DIRECT]
        uniform = rng.random  # plain floats: this loop runs hundreds of thousands of times at scale 100
        added = self.added.random
        landing_pages = _landing_pages()
        paid_google = ATTRIBUTION_INDEX[WEB_ATTRIBUTIONS[0]]
        today = self.midnight // DAY
        day_numbers = [today - ago - 1 for ago in range(HISTORY_DAYS)]  # shared int objects, not one per call
        rows = []
        for line, hour, status, (category, _, (low, high)), caller in zip(
            line_of_call, hours, statuses, categories, callers, strict=True
        ):
            day = int(HISTORY_DAYS * uniform() ** 1.15)  # skewed towards recent days: the business grows
            ts = self.midnight - (day + 1) * DAY + hour * 3600 + int(3600 * uniform())
            outbound = uniform() < 0.07
            if outbound and status == "voicemail":
                status = "no-answer"  # the business leaves no voicemails: the call just rings out
            own_attribution = own[line]
            if own_attribution is None:  # a pooled website number: the visitor's channel varies
                attribution = web[int(len(web) * uniform())]
            else:
                attribution = own_attribution if uniform() < 0.85 else direct
            duration, score, ai_category = 0, None, None
            if status == "completed":
                duration = min(3600, 15 + int(rng.expovariate(1 / 200)))
                ai_category = category
                score = max(
                    0, min(100, low + int((high - low + 1) * uniform()) - (25 if duration < 45 else 0))
                )
            elif status == "voicemail":
                duration = 8 + int(80 * uniform())
            qualified = ai_category in QUALIFYING and score is not None and score >= 60
            # The webhook payload's fields. Only a pooled website number knows the page a caller came
            # from, and a Google Ads click id with it; robocall risk is judged on inbound calls.
            risk, gclid, landing = None, None, None
            if not outbound:
                risk = 70 + int(30 * added()) if ai_category == "spam" else int(30 * added() ** 2)
                pages = landing_pages[line]
                if pages:
                    landing = pages[int(len(pages) * added())]
                    gclid = _gclid(self.added) if attribution == paid_google else None
            rows.append(
                (
                    self._id(),
                    ts,
                    line,
                    caller,
                    "outbound" if outbound else "inbound",
                    status,
                    attribution,
                    duration,
                    score,
                    ai_category,
                    qualified,
                    1 + 3 * math.ceil(duration / 60),
                    VALUES[int(len(VALUES) * uniform())] if qualified else 0,
                    status == "completed" and duration >= 30,
                    day_numbers[day],
                    hour,
                    risk,
                    gclid,
                    landing,
                )
            )
        if self.k == 0:
            self._plant_call_injections(rows)
        return rows

    def _plant_call_injections(self, rows: list[Row]) -> None:
        """Give two recorded calls the fixed ids of the caller-name and transcription samples."""
        recorded = [i for i, row in enumerate(rows) if row[TRANSCRIBED] and row[DIRECTION] == "inbound"]
        first, second = recorded[0], recorded[1]
        rows[first] = (
            INJECTION_SAMPLES[3].id,
            *rows[first][TS:CALLER],
            len(self.callers) - 1,
            *rows[first][DIRECTION:],
        )
        rows[second] = (INJECTION_SAMPLES[4].id, *rows[second][1:])

    def _voicemails(self) -> list[dict[str, Any]]:
        voicemails = []
        for row in self.rows:
            if row[STATUS] != "voicemail":
                continue
            caller, line = self.callers[row[CALLER]], self.lines[row[LINE]]
            script = self.rng.choice(VOICEMAIL_SCRIPTS)
            name = (caller.name or "a customer").split()[0].title()
            voicemails.append(
                {
                    "id": self._id(),
                    "call_id": row[ID],
                    "caller_number": caller.phone,
                    "caller_name": caller.name,
                    "tracking_number": line.tracking_number,
                    "duration_seconds": row[DURATION],
                    "transcription": script.format(name=name, issue=self.rng.choice(ISSUES)),
                    "created_at": iso(row[TS]),
                    "listened": row[TS] < self.anchor - 7 * DAY or self.rng.random() < 0.4,
                }
            )
        if self.k == 0:
            newest = max(voicemails, key=lambda v: v["created_at"])
            newest.update(
                id=INJECTION_SAMPLES[2].id, transcription=INJECTION_TEXTS["voicemail"], listened=False
            )
        return voicemails

    def _messaging(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        rng = self.rng
        senders = [n for n in self.numbers if n["sms_enabled"]]
        contacts = rng.sample(self.callers[:CALLERS_PER_REPLICA], CONVERSATIONS_PER_REPLICA)
        conversations, texts, events = [], [], []
        for index, contact in enumerate(contacts):
            number = rng.choice(senders)["phone_number"]
            script = list(THREADS[index % len(THREADS)])
            planted = self.k == 0 and index < 2  # the two injection texts end the first two threads
            if planted:
                script.append(("in", INJECTION_TEXTS["text" if index == 0 else "text_hidden"]))
            at = self._ago(60)
            thread = []
            for position, (direction, body) in enumerate(script):
                at += rng.randrange(60, 4 * 3600)
                inbound = direction == "in"
                text_id = (
                    INJECTION_SAMPLES[index].id if planted and position == len(script) - 1 else self._id()
                )
                status = "received" if inbound else rng.choices(("delivered", "failed"), (19, 1))[0]
                thread.append(
                    {
                        "id": text_id,
                        "direction": "inbound" if inbound else "outbound",
                        "from_number": contact.phone if inbound else number,
                        "to_number": number if inbound else contact.phone,
                        "body": body,
                        "status": status,
                        "created_at": iso(min(at, self.anchor - 60)),
                    }
                )
                events.append(_sms_event(self._id(), thread[-1], number, contact.phone))
            replied = [i for i, t in enumerate(thread, 1) if t["direction"] == "outbound"]
            conversations.append(
                {
                    "contact": contact.phone,
                    "contact_name": contact.name,
                    "last_message_at": thread[-1]["created_at"],
                    "last_message_preview": thread[-1]["body"][:100],
                    "unread": len(thread) - max(replied, default=0),  # inbound messages since the last reply
                    "message_count": len(thread),
                    "tracking_number": number,
                }
            )
            texts.extend(thread)
        return conversations, texts, events

    def _groups(self) -> list[dict[str, Any]]:
        return [
            {
                "id": self._id(),
                "name": name + self.suffix,
                "created_at": iso(self._ago(400, 100)),
                "number_ids": [
                    n["id"] for n, t in zip(self.numbers, NUMBER_TEMPLATES, strict=True) if t[0] in members
                ],
            }
            for name, members in GROUP_TEMPLATES
        ]

    def _pools(self) -> list[dict[str, Any]]:
        by_name = {t[0]: n for n, t in zip(self.numbers, NUMBER_TEMPLATES, strict=True)}
        return [
            {
                "id": self._id(),
                "name": name + self.suffix,
                "website_url": url,
                "call_flow_id": self.flow_by_key[flow_key]["id"] if flow_key else None,
                "session_timeout_seconds": timeout,
                "fallback_number": by_name[fallback]["phone_number"] if fallback else None,
                "created_at": iso(self._ago(300, 100)),
                "number_ids": [by_name[f"Website Pool #{i}"]["id"] for i in members],
            }
            for name, url, flow_key, timeout, fallback, members in POOL_TEMPLATES
        ]

    def _forms(self) -> list[dict[str, Any]]:
        forms = []
        for form_index, (name, count, fields) in enumerate(FORM_TEMPLATES):
            submissions = [self._submission(fields) for _ in range(count)]
            submissions.sort(key=lambda s: s["submitted_at"], reverse=True)
            if self.k == 0 and form_index == 1:
                newest = submissions[0]
                newest["id"] = INJECTION_SAMPLES[5].id
                newest["data"]["message"] = INJECTION_TEXTS["form_message"]
            forms.append(
                {
                    "id": self._id(),
                    "name": name + self.suffix,
                    "fields": [
                        {
                            "name": field,
                            "label": label,
                            "type": kind,
                            "required": required,
                            **({"options": list(SERVICES)} if kind == "select" else {}),
                        }
                        for field, label, kind, required in fields
                    ],
                    "created_at": iso(self._ago(500, 300)),
                    "submissions": submissions,
                }
            )
        return forms

    def _submission(self, fields: list[tuple[str, str, str, bool]]) -> dict[str, Any]:
        rng = self.rng
        caller = rng.choice(self.callers[:CALLERS_PER_REPLICA])
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        values = {
            "name": f"{first} {last}",
            "phone": caller.phone,
            "email": f"{first.lower()}.{last.lower()}@example.com",
            "zip": rng.choice(ZIPS),
            "service": rng.choice(SERVICES),
            "address": f"{rng.randrange(100, 9999)} {rng.choice(LAST_NAMES)} St",
            "message": f"We have a {rng.choice(ISSUES)}. Please call me {rng.choice(WHEN)}.",
        }
        return {
            "id": self._id(),
            "submitted_at": iso(self._ago(HISTORY_DAYS)),
            "source": rng.choice(("google", "facebook", "organic", "direct")),
            "page_url": "https://acme-plumbing.example/estimate",
            "data": {field: values[field] for field, *_ in fields},
        }

    def _deliveries(self) -> list[dict[str, Any]]:
        """The post-call webhook's deliveries: for the last completed calls (drawn as they were before
        the other events were known), then, from the second stream, for every other call since the
        first of those, each with the event of its status."""
        completed = sorted((r for r in self.rows if r[STATUS] == "completed"), key=lambda r: r[TS])
        covered = completed[-DELIVERIES_PER_REPLICA:]
        deliveries = [d for row in covered for d in _attempts(row, self.rng)]
        others = sorted(
            (r for r in self.rows if r[STATUS] != "completed" and r[TS] >= covered[0][TS]),
            key=lambda r: r[TS],
        )
        return deliveries + [d for row in others for d in _attempts(row, self.added)]


def _attempts(row: Row, rng: random.Random) -> list[dict[str, Any]]:
    """One call's webhook deliveries: the first attempt, then retries until one succeeds (3 at most)."""
    url = rng.choice(WEBHOOK_URLS)
    at = row[TS] + row[DURATION] + 2
    deliveries = []
    for attempt in (1, 2, 3):
        outcome = rng.choices(("ok", "error", "timeout"), (88, 7, 5) if attempt == 1 else (6, 3, 1))[0]
        if url == WEBHOOK_URLS[1] and attempt == 1 and rng.random() < 0.2:
            outcome = "error"  # the CRM endpoint is the flaky one
        deliveries.append(_delivery(new_id(rng), row, url, attempt, outcome, at, rng))
        if outcome == "ok":
            break
        at += 60 * attempt
    return deliveries


def _delivery(
    delivery_id: str, row: Row, url: str, attempt: int, outcome: str, at: int, rng: random.Random
) -> dict[str, Any]:
    status_code = {"ok": 200, "error": rng.choice((500, 500, 502, 404)), "timeout": None}[outcome]
    return {
        "id": delivery_id,
        "call_id": row[ID],
        "url": url,
        "event": WEBHOOK_EVENTS[row[STATUS]],
        "status_code": status_code,
        "success": outcome == "ok",
        "attempt": attempt,
        "duration_ms": 10_000 if outcome == "timeout" else rng.randrange(60, 900),
        "created_at": iso(at),
        "error": {"ok": None, "error": f"HTTP {status_code}", "timeout": "Timed out after 10000 ms"}[outcome],
    }


def _sms_event(event_id: str, text: dict[str, Any], number: str, contact: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": text["direction"],
        "number": number,
        "contact": contact,
        "status": text["status"],
        "created_at": text["created_at"],
    }


def _caller(phone: str, name: str | None) -> Caller:
    """A caller, placed where the area code of their number is."""
    state, city = AREAS[phone[2:5]]
    return Caller(phone, name, city, state)


def _landing_pages() -> list[tuple[str, ...]]:
    """Per tracking line (as NUMBER_TEMPLATES): the pages of the website its pool serves, if pooled."""
    site_of = {f"Website Pool #{i}": url for _, url, *_, members in POOL_TEMPLATES for i in members}
    pages = []
    for name, *_ in NUMBER_TEMPLATES:
        site = site_of.get(name)
        pages.append(tuple(site + path for path in LANDING_PATHS[site]) if site else ())
    return pages


def _gclid(rng: random.Random) -> str:
    """A Google Ads click id: the usual prefix, then 64 URL-safe characters."""
    return "Cj0KCQ" + base64.urlsafe_b64encode(rng.randbytes(48)).decode()


def _own_attribution(template: tuple[Any, ...]) -> Attribution | None:
    """A static number's channel, from its template; None for pooled website numbers."""
    source, utm = template[2], template[3]
    if source == "website":
        return None
    if not utm:
        return Attribution(source, None, None, None, None)
    utm_source, medium, campaign, term = utm.split("/")
    return Attribution(source, utm_source, medium, campaign or None, term or None)


def _revision(config: dict[str, Any], version: int, latest: int) -> dict[str, Any]:
    """The config as saved at `version`: each older save differs in its recording and whisper settings."""
    if version == latest:
        return config
    settings = {
        **config.get("settings", {}),
        "recording": (latest - version) % 2 == 0,
        "whisper": f"rev {version}",
    }
    return {**config, "settings": settings}


def _narrate(row: Row) -> tuple[str | None, str | None]:
    """A call's AI summary and transcription, generated from the call id (so always the same)."""
    if row[AI_CATEGORY] is None:
        return None, None
    rng = random.Random(row[ID])
    transcript, summary = SCRIPTS[SCRIPT_OF[row[AI_CATEGORY]]]
    words = {
        "agent": rng.choice(AGENTS),
        "issue": rng.choice(ISSUES),
        "when": rng.choice(WHEN),
        "zip": rng.choice(ZIPS),
    }
    if row[ID] == INJECTION_SAMPLES[4].id:
        return summary.format(**words), INJECTION_TEXTS["transcription"]
    return summary.format(**words), transcript.format(**words) if row[TRANSCRIBED] else None


# Every channel a call can come from; rows hold positions in this list.
ATTRIBUTIONS: list[Attribution] = list(
    dict.fromkeys([*WEB_ATTRIBUTIONS, DIRECT, *filter(None, map(_own_attribution, NUMBER_TEMPLATES))])
)
ATTRIBUTION_INDEX = {attribution: i for i, attribution in enumerate(ATTRIBUTIONS)}
