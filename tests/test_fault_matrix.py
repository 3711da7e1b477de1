"""Every guarded write under every way a request can fail: never two writes, caps right, messages true.

For each tool and fault the user has already agreed (token mode), then the confirming call meets the
fault once. What must hold: the sandbox applied the write at most once; the answer says "done" only
when it was done, and "unknown" (with what to check, never "try again") when it can't be known; a
write that may have happened keeps its cap slot.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from mcp.client import Client

from cs_mcp import catalogue
from cs_mcp.config import Caps, Settings
from cs_mcp.guardrails import Guardrails
from cs_mcp.sandbox import Sandbox, SandboxTransport
from cs_mcp.server import build_server
from tests.conftest import call, no_sleep

pytestmark = pytest.mark.anyio

# fault -> (options for sb.faults.add, whether the API applied the write)
FAULTS: dict[str, tuple[dict[str, Any], bool]] = {
    "429": ({"kind": "status", "status": 429, "retry_after": 0}, True),  # refused, so resent once: done
    "500 before acting": ({"kind": "status", "status": 500}, False),
    "500 after acting": ({"kind": "status", "status": 500, "when": "after"}, True),
    "malformed 2xx after acting": ({"kind": "malformed"}, True),
    "timeout after acting": ({"kind": "timeout", "seconds": 5, "when": "after"}, True),
    "connection refused before sending": ({"kind": "refuse"}, True),  # never left, so resent once: done
}
# Faults after which the client may resend, because the API provably did not act.
RESENT = {"429", "connection refused before sending"}


class ShortReads(httpx.AsyncBaseTransport):
    """The sandbox transport with a short read timeout, so a `timeout` fault trips in a fraction of a second."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.inner = SandboxTransport(sandbox)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.extensions = {
            **request.extensions,
            "timeout": {**request.extensions.get("timeout", {}), "read": 0.2},
        }
        return await self.inner.handle_async_request(request)


Case = Callable[[Sandbox, Client], Awaitable[tuple[str, dict[str, Any], str, str]]]
OTHER_OFFER: dict[str, str] = {}


async def purchase(sb: Sandbox, client: Client) -> tuple[str, dict[str, Any], str, str]:
    first, second = (await call(client, "search_available_numbers", area_code="813", limit=2))["numbers"]
    OTHER_OFFER["phone_number"] = second["phone_number"]  # for the cap check after the fault
    return "purchase_number", {"phone_number": first["phone_number"]}, "POST", "/numbers/purchase"


async def sms(sb: Sandbox, client: Client) -> tuple[str, dict[str, Any], str, str]:
    sender = next(n["phone_number"] for n in sb.state["numbers"] if n.get("sms_enabled"))
    arguments = {"from_number": sender, "to_number": "+15125550177", "body": "Fault matrix"}
    return "send_sms", arguments, "POST", "/texts"


async def create_flow(sb: Sandbox, client: Client) -> tuple[str, dict[str, Any], str, str]:
    config = {"steps": [{"type": "forward", "destination": "+12125550123"}]}  # outside: confirmed
    return "create_call_flow", {"name": "Matrix Flow", "config_json": config}, "POST", "/call-flows"


async def release(sb: Sandbox, client: Client) -> tuple[str, dict[str, Any], str, str]:
    number = sb.state["numbers"][3]
    return "release_number", {"number_id": number["id"]}, "DELETE", f"/numbers/{number['id']}"


async def delete_flow(sb: Sandbox, client: Client) -> tuple[str, dict[str, Any], str, str]:
    used = {n.get("call_flow_id") for n in sb.state["numbers"]}
    flow = next(f for f in sb.state["call_flows"] if f["id"] not in used)
    return "delete_call_flow", {"call_flow_id": flow["id"]}, "DELETE", f"/call-flows/{flow['id']}"


async def delete_group(sb: Sandbox, client: Client) -> tuple[str, dict[str, Any], str, str]:
    group = sb.state["number_groups"][0]
    return "delete_number_group", {"group_id": group["id"]}, "DELETE", f"/number-groups/{group['id']}"


CASES: dict[str, Case] = {
    "purchase_number": purchase,
    "send_sms": sms,
    "create_call_flow": create_flow,
    "release_number": release,
    "delete_call_flow": delete_flow,
    "delete_number_group": delete_group,
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("tool", list(CASES))
async def test_a_write_under_a_fault_happens_at_most_once_and_is_reported_truthfully(
    tool: str, fault: str
) -> None:
    sb = Sandbox()
    settings = Settings.for_sandbox("manager", caps=Caps(purchases_per_day=1, sms_per_hour=1))
    server = build_server(settings, transport=ShortReads(sb), guardrails=Guardrails(settings, sleep=no_sleep))
    spec = catalogue.by_name()[tool]
    options, applied = FAULTS[fault]
    async with Client(server) as client:
        name, arguments, method, path = await CASES[tool](sb, client)
        preview = await call(client, name, **arguments)
        assert preview["status"] == "needs_confirmation"
        sb.faults.add(**{**options, "method": method, "path": path, "times": 1})
        result = await client.call_tool(
            name, {**arguments, "confirmation_token": preview["confirmation_token"]}
        )
        text = result.content[0].text
        writes = sb.writes.matching(method, path)
        assert writes == (1 if applied else 0), f"{writes} writes applied"
        reported_done = not result.is_error and result.structured_content["status"] == "done"
        can_know = fault in RESENT or (applied and spec.functions.reconcile is not None)
        if can_know:
            assert reported_done, text
            assert "happened once" in text or fault in RESENT
        else:
            assert result.is_error and "OUTCOME UNKNOWN" in text, text
            assert "try again" not in text.lower() and "not retried" in text
            assert spec.if_unknown and spec.if_unknown in text  # what to check
        if spec.cap is not None:  # done or unknown, the slot stays used: a second act is refused
            again = await client.call_tool(
                name, {**arguments, **(OTHER_OFFER if name == "purchase_number" else {})}
            )
            assert again.is_error and "cap of 1" in again.content[0].text
