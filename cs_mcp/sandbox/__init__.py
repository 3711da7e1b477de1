"""A local simulator of the CallScaler REST API: seeded business, roles, state, and fault injection.

    from cs_mcp.sandbox import Sandbox, SandboxTransport, SANDBOX_KEYS
    sb = Sandbox(scale=1, now=None)      # same scale + now => identical data; now defaults to today 00:00 UTC
    client = httpx.AsyncClient(transport=SandboxTransport(sb), base_url="http://sandbox.invalid/api/v1",
                               headers={"Authorization": f"Bearer {SANDBOX_KEYS['manager']}"})
    sb.state["numbers"]                  # the data, as plain dicts (sb.state["calls"] is a sequence of dicts)
    sb.faults.add("status", status=503, times=2, path="/numbers*")
    sb.requests                          # [(method, path, role)] of every API request seen

The contract is /work/shared/callscaler-api.md ("The sandbox contract"). Where it is silent:

Data (seed.py): a plumbing & HVAC business with ~43 numbers, 8 call flows, ~3000 calls over 182 days,
30 SMS threads, voicemails, 4 groups, 3 pools, 3 forms and ~250 webhook deliveries. `scale=K` repeats
it K times (copies after the first add " #<k>" to names); copy one is the same at every scale. The state
keeps a few fields the API does not show as such: `versions` on flows (with each version's config_json),
`number_ids` on groups and pools, `submissions` on forms.

Keys and roles: `cs_key_sandbox_<viewer|manager|admin|owner>`; `cs_key_sandbox_revoked` and any other
key answer 401. Every GET needs viewer, every other method (POST /numbers/search included) manager;
admin and owner include manager. Order of checks: key (401), route (404/405), role (403), body
(400 malformed JSON, 422 invalid field), resource (404), conflict (409).

Success: `{"data": ...}`, 201 for creations (purchase, flow create/duplicate, group, pool, text), 200
otherwise. Lists: `{"data": {"<key>": [...], "total": N}}` with keys numbers, call_flows, numbers
(a flow's numbers, a group's members), versions (newest first), conversations (newest first), texts
(oldest first), sms_events (newest first), number_groups, number_pools, voicemails (newest first),
forms, deliveries (newest first; limit default 50 max 500, offset), calls (newest first, plus has_more
and next_cursor, an opaque string). GET /numbers with page/per_page adds page and per_page.
Single objects: `{"data": <object>}`; numbers answer `{"data": {"number": <number>}}` (purchase,
patch); release answers `{"released": true, "id"}`, flow and group deletes `{"deleted": true, "id"}`.
Group and pool membership changes answer the group or pool (with number_count); GET /number-pools/{id}
adds "numbers". Search answers `{"numbers": [candidates]}` without total.
Not enveloped: GET /numbers/export (text/csv), recordings (audio/mpeg, silent, as long as the call),
and the legacy GET /calls/{id}/transcription: `{"call_id", "transcription"}`.

Errors: `{"error": {"code": "<status>", "message": ...}}`, plus `"required_role"` on 403, `"field"` on
422, `"current_version"` on a stale-version 409, `"number_count"`/`"pool_count"` when a flow in use
cannot be deleted. Ids in the path that are not UUIDs answer 404; ids in a body that are malformed or
unknown answer 422 naming the field. Unknown body fields answer 422.

Calls: `status` is completed|no-answer|voicemail|busy|failed; "missed" counts no-answer, busy and
failed (voicemails apart). avg_duration(_seconds) is the mean over all calls, 1 decimal;
qualified_pct = 100 * qualified / count, 1 decimal; avg_ai_score over scored calls (null if none).
`search` matches caller number and name, tracking number, flow name and UTM campaign, case-insensitive
(digits alone also match phone numbers). updated_since takes a date or an ISO timestamp.
Analytics without group_by answers one row equal to the totals; with it, rows are in time order
when the first field is date/week/month/hour_of_day/day_of_week, else busiest first. week is the
Monday (YYYY-MM-DD) starting the ISO week, month YYYY-MM, day_of_week a lowercase English name, all UTC.
Bulk stats count the current numbers (calls_last_30_days: calls on them since now - 30 days);
the dashboard counts every call in its period (today|7d|30d|90d|all: the 1, 7, 30 or 90 days before
now, or everything; default 30d), adds start_date/end_date, top_sources [{source, calls}] and
top_numbers [{number_id, phone_number, name, calls}], 5 each, busiest first.
Number stats take start_date/end_date; by_day lists only days with calls.

State: changes are stamped one second after `now` per change (ordered, repeatable). Purchasable
numbers: a fixed quarter of the numbers in the known area codes (see seed.AREAS), minus owned ones;
search is deterministic per (area code, contains). A number serves one pool at a time (409).
Group names are unique, case-insensitively (409). A reply (POST /texts) marks the conversation read.

Faults (`sb.faults`, a FaultInjector). Kinds: latency (ms, added, combines with others), timeout
(sleep `seconds`, default 30, then answer normally), status (HTTP error with the envelope; 429 adds
Retry-After, default 1; 502 answers an HTML page), flat_error (`{"error": "unauthorized"}`, default
401), drop (the API acts, then the answer stops half-way: over HTTP the connection closes mid-body,
in-process SandboxTransport raises httpx.RemoteProtocolError), malformed (the API acts, then 200 with
half its JSON), no_envelope (the API acts, then its answer without the "data" wrapper).
Options: path (glob on the path after /api/v1, e.g. "/numbers*"), method, times (then it stops),
probability (seeded RNG). Python: `sb.faults.add("status", status=429, retry_after=2, times=3)`,
`sb.faults.clear()`. Spec strings (CLI, `run_server(faults=[...])`): `kind[=value][:option=value]...`,
e.g. `latency=20ms`, `timeout=5s`, `status=429:retry_after=1:times=3:path=/numbers*`, `drop:method=POST`,
`flat_error`, `malformed:prob=0.5`. Request log: `sb.requests`, `sb.faults.count("POST", "/texts")`.
HTTP control (no key, outside /api/v1): POST /_sandbox/faults (`{"kind": "status", "status": 503}`,
`{"spec": "..."}` or a list), GET and DELETE /_sandbox/faults, GET /_sandbox/requests.

Injection samples: `INJECTION_SAMPLES` lists the seeded records whose inbound text tries to instruct
an AI assistant (some with zero-width or bidi control characters).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from cs_mcp.sandbox.app import ENDPOINTS, build_app
from cs_mcp.sandbox.auth import REVOKED_KEY, SANDBOX_KEYS
from cs_mcp.sandbox.faults import Fault, FaultInjector, RequestRecord
from cs_mcp.sandbox.formats import BASE_PATH, epoch
from cs_mcp.sandbox.handlers import Handlers
from cs_mcp.sandbox.seed import INJECTION_SAMPLES, InjectionSample, State, build_state
from cs_mcp.sandbox.transport import SandboxTransport

SANDBOX_BASE_PATH = BASE_PATH

__all__ = [
    "ENDPOINTS",
    "INJECTION_SAMPLES",
    "REVOKED_KEY",
    "SANDBOX_BASE_PATH",
    "SANDBOX_KEYS",
    "Fault",
    "FaultInjector",
    "InjectionSample",
    "RequestRecord",
    "Sandbox",
    "SandboxTransport",
    "State",
    "run_server",
]


class Sandbox:
    """One simulated business: its data (`state`), its ASGI app (`app`) and its faults (`faults`)."""

    def __init__(self, scale: int = 1, now: datetime | None = None) -> None:
        if scale < 1:
            raise ValueError(f"scale must be at least 1, not {scale}")
        self.scale = scale
        self.now = now or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.state: State = build_state(scale, self.now)
        self.faults = FaultInjector()
        self.app = build_app(Handlers(self.state, epoch(self.now)), self.faults)

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request that reached /api/v1, faulted or not, in order."""
        return self.faults.requests


def run_server(host: str = "127.0.0.1", port: int = 8700, scale: int = 1, faults: Sequence[str] = ()) -> None:
    """Serve a sandbox over HTTP until interrupted (`cs-mcp sandbox`). Fault specs as in the docstring."""
    import uvicorn  # only the HTTP server needs it

    sandbox = Sandbox(scale=scale)
    for spec in faults:
        sandbox.faults.add_spec(spec)
    keys = ", ".join(f"{role}={key}" for role, key in SANDBOX_KEYS.items())
    print(
        f"CallScaler sandbox on http://{host}:{port}{SANDBOX_BASE_PATH} (scale {scale}); keys: {keys}",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(sandbox.app, host=host, port=port, log_level="warning")
