"""A local simulator of the CallScaler REST API: seeded business, roles, state, and fault injection.

    from cs_mcp.sandbox import Sandbox, SandboxTransport, SANDBOX_KEYS
    sb = Sandbox(scale=1, now=None)      # same scale + now => identical data; now defaults to today 00:00 UTC
    client = httpx.AsyncClient(transport=SandboxTransport(sb), base_url="http://sandbox.invalid/api/v1",
                               headers={"Authorization": f"Bearer {SANDBOX_KEYS['manager']}"})
    sb.state["numbers"]                  # the data, as plain dicts (sb.state["calls"] is a sequence of dicts)
    sb.faults.add("status", status=503, times=2, path="/numbers*")
    sb.requests                          # [(method, path, role)] of every API request seen
    sb.writes                            # ... of every write the API applied

Modules (nothing here imports from cs_mcp outside cs_mcp/sandbox, and no module imports this package):
    simulator.Sandbox      state + app + faults + logs        server.run_server   `cs-mcp sandbox` (uvicorn)
    transport              SandboxTransport (in-process httpx)
    app                    assembles the routes, key/role/body checks, control routes and the fault layer
    resources/<resource>   one module per resource (numbers, call_flows, messaging, number_groups,
                           number_pools, voicemails, forms, reporting, calls): each declares its endpoints
                           next to their handlers (`@routes.get("/forms/{id}")`, see routes.py), so a new
                           endpoint touches one file; resources/__init__ lists the modules (ENDPOINTS).
    store.Store            the state with look-ups, new ids and change stamps; answers/wire: shared shapes
    auth, validation       keys and roles; typed field access and flow config checks (ApiError)
    seed_data / seed       the business as plain data tables / the generator that builds `State` from them
    calls                  compact call storage, the /calls filters and the analytics aggregates
    faults / fault_layer   fault specs and the injector / the ASGI layer in front of the app applying them
    request_log            RequestLog: `sb.requests` (received) and `sb.writes` (applied)

The contract is /work/shared/callscaler-api.md ("The sandbox contract"). Where it is silent:

Data (seed_data.py, built by seed.py): a plumbing & HVAC business with ~43 numbers, 9 call flows,
~3000 calls over 182 days, 30 SMS threads, voicemails, 4 groups, 3 pools, 3 forms and ~360 webhook
deliveries. `scale=K` repeats it K times (copies after the first add " #<k>" to names); copy one is
the same at every scale. The state keeps a few fields the API does not show as such: `versions` on
flows (with each version's config_json), `number_ids` on groups and pools, `submissions` on forms.

Keys and roles: `cs_key_sandbox_<viewer|manager|admin|owner>`; `cs_key_sandbox_revoked` and any other
key answer 401. Every GET needs viewer, every other method (POST /numbers/search included) manager;
admin and owner include manager. Order of checks: key (401), route (404/405), role (403), body
(400 malformed JSON, 422 invalid field), resource (404), conflict (409).

Success: `{"data": ...}`, 201 for creations (purchase, flow create/duplicate, group, pool, text), 200
otherwise. Lists: `{"data": {"<key>": [...], "total": N}}` with keys numbers, call_flows, numbers
(a flow's numbers, a group's members), versions (newest first), conversations (newest first), texts
(oldest first), sms_events (newest first), number_groups, number_pools, voicemails (newest first),
forms, deliveries (newest first; limit default 50 max 500, offset), calls (newest first, plus has_more
and next_cursor, an opaque string). GET /numbers and GET /calls with page/per_page add page and per_page.
Single objects: `{"data": <object>}`; numbers answer `{"data": {"number": <number>}}` (purchase,
patch); release answers `{"released": true, "id"}`, flow and group deletes `{"deleted": true, "id"}`.
Group and pool membership changes answer the group or pool (with number_count); GET /number-pools/{id}
adds "numbers". Search answers `{"numbers": [candidates]}` without total.
Not enveloped: GET /numbers/export and GET /calls/export (text/csv), recordings (audio/mpeg, silent, as
long as the call), and the legacy GET /calls/{id}/transcription: `{"call_id", "transcription"}`.

Errors: `{"error": {"code": "<status>", "message": ...}}`, plus `"required_role"` on 403, `"field"` on
422, `"current_version"` on a stale-version 409, `"number_count"`/`"pool_count"` when a flow in use
cannot be deleted, `"total"`/`"max_rows"` on a calls export too large (422). Ids in the path that are
not UUIDs answer 404; ids in a body that are malformed or unknown answer 422 naming the field. Unknown
body fields answer 422.

Calls: `status` is completed|no-answer|voicemail|busy|failed; "missed" counts no-answer, busy and
failed (voicemails apart); "answered" is completed. avg_duration(_seconds) is the mean over all calls,
1 decimal; qualified_pct = 100 * qualified / count, 1 decimal; avg_ai_score over scored calls (null if none).
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

Added with the docs of 2026-12-01 (callscaler-api.md's last section; all of it [assume] where those
docs give no detail). The seed draws the added fields and records from a second random stream, so every
earlier id, name, count and value is as it was (tests/sandbox/test_structure.py checks it):
    GET /calls/export     text/csv, no envelope: every call the /calls filters match (paging parameters are
                          ignored), newest first. Header: id, created_at, direction, status, caller_number,
                          caller_name, caller_city, caller_state, tracking_number, number_id,
                          destination_number, duration_seconds, call_flow_name, source, utm_source,
                          utm_medium, utm_campaign, utm_term, gclid, landing_page_url, ai_score, ai_category,
                          qualified_ai, robo_risk_score, cost_cents, value_cents, has_recording,
                          recording_url; booleans true/false, null an empty cell. Over 100,000 matching calls:
                          422 with total and max_rows (export in parts, by date).
    call fields           caller_city, caller_state: where the caller's area code is (seed_data.AREAS).
                          has_recording: true exactly when recording_url is set and GET /calls/{id}/recording
                          answers audio/mpeg (completed and voicemail calls with a duration; else 404); it
                          does not follow the flow's recording setting. robo_risk_score: 0-100 on inbound
                          calls (70-99 for calls the AI classed spam, under 30 otherwise), null on outbound
                          ones. landing_page_url: on inbound calls to a pooled website number, a page of the
                          pool's website; gclid: on those of them that came from google/cpc; else null.
    qualified=true|false  on /calls, /calls/export and /analytics/calls: qualified_ai is that.
    legacy names          an older page's names, wherever the current ones are taken: date_from and date_to
                          (start_date and end_date, end exclusive: calls, export, analytics, number stats);
                          status answered (= completed) and missed (= no-answer, busy and failed) besides
                          voicemail (calls, export, analytics); page and per_page on /calls
                          (offset = (page - 1) * per_page, limit = per_page; the answer adds page and
                          per_page). A legacy name sent with its current one (date_from with start_date, page
                          with offset, per_page with limit): 422 naming the legacy one.
    number fields         friendly_name, the number written for people ("(813) 555-1234", as search shows
                          candidates); group_id and group_name of the group holding it, the first in the
                          groups' list order when several do (null when none). created_at was there already.
                          GET /numbers/{id} is still not served.
    webhook events        each delivery's event follows its call's status: completed call.completed, no-answer
                          and busy call.missed, voicemail call.voicemail, failed call.failed. The seed
                          delivers for every call since the webhook's first delivery, whatever its status.
    rtb step              {"type": "rtb", "zip_prompt"?: text, "zip_retries"?: 0-5 (default 3),
                          "buyer_timeout_seconds"?: 1-60 (default 12), "minimum_bid_cents"?: 0-100000
                          (default 0), "failover_steps": [steps] (required: where the call goes when no buyer
                          bids)}. The seed's "Pay-Per-Call Auction" flow (after the 8 earlier flows of each
                          copy, on no number) uses one. Flow settings take press1 as well as press_1.
    analytics metrics     answered, voicemail and qualified (counts) and answer_rate (100 * answered / count,
                          1 decimal), besides count, avg_duration, qualified_pct, avg_ai_score, total_duration
                          and missed; group_by already took every documented dimension.
    alternate flow shape  under the flow_shape variant (Faults below), GET /call-flows/{id} and the writes
                          that answer one flow (create, update, duplicate, restore) answer
                          `{"data": {"call_flow": {"id", "name", "steps", "settings": {"recording", "whisper",
                          "press1"}, "version", "assigned_numbers": [{"id", "phone_number", "name"}],
                          "created_at"}}}`: steps are config_json's, with every forward step's "destination"
                          called "number"; a setting the config leaves out is null; version is config_version.
                          Request bodies stay the documented ones (config_json, destination, config_version);
                          the flow list, a flow's numbers and its versions keep their shapes.

State: changes are stamped one second after `now` per change (ordered, repeatable). Purchasable
numbers: a fixed quarter of the numbers in the known area codes (see seed_data.AREAS), minus owned ones;
search is deterministic per (area code, contains). A number serves one pool at a time (409).
Group names are unique, case-insensitively (409). A reply (POST /texts) marks the conversation read.

Faults (`sb.faults`, a FaultInjector), for a method (`method="POST"`) and a path glob after /api/v1
(`path="/numbers/*"`). Each strikes either `when="before"` the API sees the request (nothing applied,
the handler never runs) or `when="after"` the API acted and committed its change:
    latency      before: adds `ms` (combines with the other faults)
    refuse       before: the connection fails before the request is sent; nothing is logged or applied.
                 In-process, SandboxTransport raises httpx.ConnectError. Over a socket the connection is
                 already open when the path is known, so the server sends a 503 status line and hangs
                 up before the body (httpx: RemoteProtocolError); a true ConnectError there needs a
                 port nobody listens on.
    status       before (default) or after: the error `status` with the API's envelope; 429 adds
                 Retry-After (`retry_after`, default 1); 502 answers a proxy's HTML page
    flat_error   before (default) or after: `{"error": "unauthorized"}` (`status`, default 401)
    timeout      before (default): the request waits `seconds` (default 30) before the API sees it; a
                 client that gives up first leaves nothing applied (a real socket's hang-up is noticed).
                 after: the API acts at once, the answer waits `seconds` (the client times out).
    drop         after: the answer stops half-way (HTTP: the connection closes mid-body; in-process:
                 httpx.RemoteProtocolError)
    malformed    after: 200 with half the answer's JSON (not JSON)
    no_envelope  after: the answer without its "data" wrapper
    flow_shape   a variant, not a failure: the API acts as usual and answers call flows in another documented
                 shape: `flow_shape=alternate` (the default form) or `flow_shape=documented`; its path
                 defaults to /call-flows*. A variant combines with latency and with any one fault; the first
                 matching spec of each variant applies. `sb.faults.add("flow_shape")`, over HTTP
                 `{"kind": "flow_shape", "shape": "alternate"}`, on the command line
                 `cs-mcp sandbox --fault flow_shape=alternate`.
The six cases a write guard must survive: `status=429`, `status=500`, `status=500:when=after`,
`malformed`, `timeout:when=after` (with a client timeout below `seconds`), `refuse`.
Options: path, method, times (then it stops), probability (seeded RNG), when, shape (flow_shape). Python:
`sb.faults.add("status", status=500, when="after", method="POST", path="/texts")`, `sb.faults.clear()`.
Spec strings (CLI `cs-mcp sandbox --fault`, `run_server(faults=[...])`): `kind[=value][:option=value]...`,
e.g. `latency=20ms`, `timeout=5s:when=after:method=POST`, `status=429:retry_after=1:times=3:path=/numbers*`,
`status=500:when=after:method=POST:path=/texts`, `refuse:method=POST`, `flat_error`, `malformed:prob=0.5`,
`flow_shape=alternate:times=1`.
Logs: `sb.requests` (every request received, faulted or not) and `sb.writes` (every write the API
applied, whatever answer the client then got), both RequestLogs of (method, path, role):
`sb.writes.matching("POST", "/texts")`, `sb.requests.counts()`; `sb.faults.count(...)` counts requests.
A write is a successful call of an endpoint that changes state (every method but GET, except the
POST /numbers/search).
HTTP control (no key, outside /api/v1): POST /_sandbox/faults (`{"kind": "status", "status": 503}`,
`{"spec": "..."}` or a list), GET and DELETE /_sandbox/faults, GET /_sandbox/requests (requests, counts,
writes, write_counts).

Injection samples: `INJECTION_SAMPLES` lists the seeded records whose inbound text tries to instruct
an AI assistant (some with zero-width or bidi control characters).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cs_mcp.sandbox.auth import REVOKED_KEY, SANDBOX_KEYS
    from cs_mcp.sandbox.faults import Fault, FaultInjector
    from cs_mcp.sandbox.formats import BASE_PATH as SANDBOX_BASE_PATH
    from cs_mcp.sandbox.request_log import RequestLog, RequestRecord
    from cs_mcp.sandbox.resources import ENDPOINTS
    from cs_mcp.sandbox.seed_data import INJECTION_SAMPLES, INJECTION_TEXTS, InjectionSample
    from cs_mcp.sandbox.server import run_server
    from cs_mcp.sandbox.simulator import Sandbox
    from cs_mcp.sandbox.state import State
    from cs_mcp.sandbox.transport import SandboxTransport

# Each name loads its module on first use: `serve --sandbox` imports no part of the sandbox until its
# first API request builds the simulator (routes, data tables, seed).
_HOMES: dict[str, tuple[str, str]] = {
    "ENDPOINTS": ("resources", "ENDPOINTS"),
    "INJECTION_SAMPLES": ("seed_data", "INJECTION_SAMPLES"),
    "INJECTION_TEXTS": ("seed_data", "INJECTION_TEXTS"),
    "REVOKED_KEY": ("auth", "REVOKED_KEY"),
    "SANDBOX_BASE_PATH": ("formats", "BASE_PATH"),
    "SANDBOX_KEYS": ("auth", "SANDBOX_KEYS"),
    "Fault": ("faults", "Fault"),
    "FaultInjector": ("faults", "FaultInjector"),
    "InjectionSample": ("seed_data", "InjectionSample"),
    "RequestLog": ("request_log", "RequestLog"),
    "RequestRecord": ("request_log", "RequestRecord"),
    "Sandbox": ("simulator", "Sandbox"),
    "SandboxTransport": ("transport", "SandboxTransport"),
    "State": ("state", "State"),
    "run_server": ("server", "run_server"),
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _HOMES[name]
    return getattr(import_module(f"{__name__}.{module}"), attribute)


__all__ = [
    "ENDPOINTS",
    "INJECTION_SAMPLES",
    "INJECTION_TEXTS",
    "REVOKED_KEY",
    "SANDBOX_BASE_PATH",
    "SANDBOX_KEYS",
    "Fault",
    "FaultInjector",
    "InjectionSample",
    "RequestLog",
    "RequestRecord",
    "Sandbox",
    "SandboxTransport",
    "State",
    "run_server",
]
