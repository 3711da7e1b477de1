"""Keys and roles, checked on every endpoint of the route table."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from cs_mcp import catalogue
from cs_mcp.sandbox import ENDPOINTS, REVOKED_KEY, Sandbox
from cs_mcp.sandbox.calls import has_recording
from cs_mcp.sandbox.routes import Endpoint

from .conftest import Api

WRITES = [e for e in ENDPOINTS if e.method != "GET"]
READS = [e for e in ENDPOINTS if e.method == "GET"]


def _id(endpoint: Endpoint) -> str:
    return f"{endpoint.method} {endpoint.path}"


def concrete(endpoint: Endpoint, sb: Sandbox) -> str:
    """The endpoint's path with real ids from the seed (a recorded, transcribed call; a pooled number)."""
    state = sb.state
    collection = endpoint.path.split("/")[1]
    group, pool = state["number_groups"][0], state["number_pools"][0]
    call = next(c for c in state["calls"] if c["has_transcription"])
    ids = {
        "numbers": state["numbers"][0]["id"],
        "call-flows": state["call_flows"][0]["id"],
        "number-groups": group["id"],
        "number-pools": pool["id"],
        "voicemails": state["voicemails"][0]["id"],
        "forms": state["forms"][0]["id"],
        "calls": call["id"],
    }
    members = {"number-groups": group["number_ids"][0], "number-pools": pool["number_ids"][0]}
    path = endpoint.path.replace("{id}", ids.get(collection, "")).replace("{version:int}", "1")
    path = path.replace("{number_id}", members.get(collection, ""))
    return path + ("?contact=" + quote(state["conversations"][0]["contact"]) if path == "/texts" else "")


def route(method: str, path: str) -> tuple[str, str]:
    """An endpoint whatever its path parameters are called (`{call_id}` in a spec is `{id}` here)."""
    return method, re.sub(r"\{[^}]*\}", "{}", path)


def test_route_table_covers_the_contract() -> None:
    """Every endpoint a tool calls is routed, once, and so are those documented that no tool calls yet."""
    routed = [route(e.method, e.path) for e in ENDPOINTS]
    assert len(set(routed)) == len(routed)
    assert {route(spec.method, spec.path) for spec in catalogue.load() if spec.method} <= set(routed)
    assert {
        route("GET", "/calls/{id}/recording"),
        route("GET", "/calls/{id}/transcription"),
        route("GET", "/calls/export"),
    } <= set(routed)


@pytest.mark.anyio
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=_id)
@pytest.mark.parametrize(
    ("key", "message"),
    [(None, "Missing API key"), ("cs_key_not_a_real_key", "Invalid API key"), (REVOKED_KEY, "revoked")],
    ids=["no-key", "unknown-key", "revoked-key"],
)
async def test_every_endpoint_needs_a_valid_key(
    reader: Api, seeded: Sandbox, endpoint: Endpoint, key: str | None, message: str
) -> None:
    before = len(seeded.state["numbers"])
    error = await reader.error(endpoint.method, concrete(endpoint, seeded), 401, role=None, key=key, json={})
    assert message in error["message"]
    assert "cs_key_not_a_real_key" not in error["message"]
    assert len(seeded.state["numbers"]) == before


@pytest.mark.anyio
@pytest.mark.parametrize("endpoint", READS, ids=_id)
async def test_a_viewer_reads_every_get_endpoint(reader: Api, seeded: Sandbox, endpoint: Endpoint) -> None:
    response = await reader("GET", concrete(endpoint, seeded), role="viewer")
    assert response.status_code == 200, response.text
    if response.headers["content-type"].startswith("application/json") and not endpoint.path.endswith(
        "/transcription"
    ):
        assert "data" in response.json()


@pytest.mark.anyio
@pytest.mark.parametrize("endpoint", WRITES, ids=_id)
async def test_a_viewer_is_refused_every_write_naming_the_role(
    api: Api, sb: Sandbox, endpoint: Endpoint
) -> None:
    flows_before = [dict(f) for f in sb.state["call_flows"]]
    numbers_before = len(sb.state["numbers"])
    error = await api.error(endpoint.method, concrete(endpoint, sb), 403, role="viewer", json={"name": "x"})
    assert error["required_role"] == "manager"
    assert "requires the manager role" in error["message"]
    assert [dict(f) for f in sb.state["call_flows"]] == flows_before
    assert len(sb.state["numbers"]) == numbers_before


@pytest.mark.anyio
@pytest.mark.parametrize("role", ["manager", "admin", "owner"])
@pytest.mark.parametrize("endpoint", WRITES, ids=_id)
async def test_manager_and_above_pass_the_role_check_on_every_write(
    api: Api, sb: Sandbox, endpoint: Endpoint, role: str
) -> None:
    # An empty body is refused by validation (or acted on), never by the role check.
    response = await api(endpoint.method, concrete(endpoint, sb), role=role, json={})
    assert response.status_code not in (401, 403), response.text
    assert response.status_code < 500


@pytest.mark.anyio
async def test_unknown_routes_check_the_key_first(reader: Api) -> None:
    await reader.error("GET", "/nope", 401, role=None)
    error = await reader.error("GET", "/nope", 404, role="viewer")
    assert "/nope" in error["message"]
    error = await reader.error("GET", "/numbers/purchase", 405, role="viewer")
    assert "GET" in error["message"]


@pytest.mark.anyio
async def test_other_authorization_schemes_are_refused(reader: Api) -> None:
    response = await reader("GET", "/numbers", role=None, headers={"Authorization": "Basic Y3Nfa2V5"})
    assert response.status_code == 401


@pytest.mark.anyio
async def test_requests_are_logged_with_the_callers_role(api: Api, sb: Sandbox) -> None:
    await api("GET", "/numbers?page=1", role="viewer")
    await api("POST", "/texts", role=None)
    assert [tuple(r) for r in sb.requests] == [("GET", "/numbers", "viewer"), ("POST", "/texts", None)]
    assert sb.faults.count("POST", "/texts") == 1
    assert sb.faults.counts()[("GET", "/numbers")] == 1


def test_recorded_call_is_used_for_paths(seeded: Sandbox) -> None:
    get_call = next(e for e in ENDPOINTS if (e.method, e.path) == ("GET", "/calls/{id}"))
    row = seeded.state["calls"].find(concrete(get_call, seeded).split("/")[2])
    assert row is not None and has_recording(row)
