"""Issue 17, analytics: the rtb (real-time bidding) step and flow settings in the config model, the outline and
the routing checks, on their own and through a real MCP client against the sandbox."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from cs_mcp import flows
from cs_mcp.sandbox import SANDBOX_BASE_PATH, SANDBOX_KEYS, Sandbox, SandboxTransport
from tests.conftest import Connect, call, call_error, confirmed

pytestmark = pytest.mark.anyio
OFFICE_LINE = "+18135550177"
RTB: dict[str, Any] = {
    "type": "rtb",
    "zip_prompt": "Enter your ZIP code.",
    "zip_retries": 2,
    "buyer_timeout_seconds": 10,
    "minimum_bid_cents": 1500,
    "failover_steps": [{"type": "forward", "destination": OFFICE_LINE}],
}
AUCTION = {
    "steps": [{"type": "greeting", "message": "Hello."}, RTB],
    "settings": {"recording": True, "press1": True},
}


def flow_named(sandbox: Sandbox, name: str) -> dict[str, Any]:
    return next(f for f in sandbox.state["call_flows"] if f["name"].startswith(name))


# --- cs_mcp.flows ---------------------------------------------------------------------------------------


def test_an_rtb_step_validates_and_outlines_with_its_failover() -> None:
    config = flows.FlowConfig.model_validate(AUCTION).model_dump(mode="json", exclude_none=True)
    assert config["steps"][1] == RTB
    assert config["settings"] == {"recording": True, "press_1": True}  # press1 is another page's spelling
    text = flows.outline(config).text
    assert text.splitlines()[0] == "settings recording on, press_1 on"
    assert (
        'steps[1] rtb auction: ZIP asked (2 retries) "Enter your ZIP code." buyers 10s, min bid $15.00'
        in text
    )
    assert "  failover_steps:" in text and f"[0] forward {OFFICE_LINE}" in text
    assert flows.destinations(config) == [OFFICE_LINE]
    assert flows.resolve(config, "steps[1].failover_steps[0]")["destination"] == OFFICE_LINE


def test_an_rtb_step_shows_the_api_defaults_it_leaves_out() -> None:
    bare = {"type": "rtb", "failover_steps": [{"type": "voicemail"}]}
    assert flows.describe(bare) == "rtb auction: ZIP asked (3 retries) buyers 12s, min bid $0.00"


def test_settings_the_api_sends_as_null_are_left_out_of_the_outline() -> None:
    config = {
        "steps": [{"type": "voicemail"}],
        "settings": {"recording": True, "whisper": None, "press_1": None},
    }
    assert flows.outline(config).lines[0] == "settings recording on"
    assert not flows.outline({**config, "settings": {"whisper": None}}).lines[0].startswith("settings")


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"failover_steps": None}, "failover_steps"),
        ({"failover_steps": []}, "failover_steps"),
        ({"zip_retries": 6}, "zip_retries"),
        ({"buyer_timeout_seconds": 0}, "buyer_timeout_seconds"),
        ({"minimum_bid_cents": -1}, "minimum_bid_cents"),
        ({"min_bid": 100}, "min_bid"),
    ],
)
def test_a_bad_rtb_step_is_refused(change: dict[str, Any], complaint: str) -> None:
    step = {k: v for k, v in {**RTB, **change}.items() if v is not None}
    with pytest.raises(ValidationError, match=complaint):
        flows.FlowConfig.model_validate({"steps": [step]})


def test_an_auction_reaches_outside_buyers() -> None:
    assert flows.reach(AUCTION) == [OFFICE_LINE, flows.RTB_BUYERS]
    assert flows.RTB_BUYERS not in flows.reach({"steps": [RTB["failover_steps"][0]]})


# --- Through the tools ----------------------------------------------------------------------------------


async def test_the_seeded_auction_flow_outlines_its_rtb_step_and_settings(
    sandbox: Sandbox, connect: Connect
) -> None:
    auction = flow_named(sandbox, "Pay-Per-Call Auction")
    async with connect("viewer") as client:
        view = await call(client, "get_call_flow", call_flow_id=auction["id"])
    outline = view["outline"]
    assert outline.startswith('settings recording on, whisper "Pay-per-call lead", press_1 on')
    assert "rtb auction: ZIP asked (3 retries)" in outline and "min bid $25.00" in outline
    assert view["step_counts"]["rtb"] == 1


async def test_the_alternate_flow_shape_outlines_the_same(sandbox: Sandbox, connect: Connect) -> None:
    auction = flow_named(sandbox, "Pay-Per-Call Auction")
    async with connect("viewer") as client:
        documented = await call(client, "get_call_flow", call_flow_id=auction["id"])
        sandbox.faults.add("flow_shape")
        alternate = await call(client, "get_call_flow", call_flow_id=auction["id"])
    async with httpx.AsyncClient(
        transport=SandboxTransport(sandbox),
        base_url=f"http://sandbox.invalid{SANDBOX_BASE_PATH}",
        headers={"Authorization": f"Bearer {SANDBOX_KEYS['viewer']}"},
    ) as raw:
        served = (await raw.get(f"/call-flows/{auction['id']}")).json()["data"]["call_flow"]
    assert served["settings"]["press1"] is True and "config_json" not in served  # the other shape was served
    assert alternate["outline"] == documented["outline"]
    assert alternate["destinations"] == documented["destinations"]


async def test_creating_an_auction_flow_is_confirmed_even_when_it_fails_over_to_our_own_line(
    sandbox: Sandbox, connect: Connect
) -> None:
    """Selling calls to bidders sends them outside the business: the routing rule asks, whatever the failover."""
    own = sandbox.state["numbers"][0]["phone_number"]
    config = copy.deepcopy(AUCTION)
    config["steps"][1]["failover_steps"] = [{"type": "forward", "destination": own}]
    before = len(sandbox.state["call_flows"])
    async with connect("manager") as client:
        asked = await call(client, "create_call_flow", name="Auction Test", config_json=config)
        assert asked["status"] == "needs_confirmation" and flows.RTB_BUYERS in str(asked)
        assert len(sandbox.state["call_flows"]) == before
        view = await confirmed(client, "create_call_flow", name="Auction Test", config_json=config)
    created = next(f for f in sandbox.state["call_flows"] if f["id"] == view["id"])
    assert created["config_json"]["steps"][1]["type"] == "rtb"
    assert created["config_json"]["settings"] == {"recording": True, "press_1": True}
    assert "rtb auction" in view["outline"]


async def test_adding_an_rtb_step_to_a_flow_in_use_is_confirmed(sandbox: Sandbox, connect: Connect) -> None:
    main = flow_named(sandbox, "Main Sales Flow")
    kept = copy.deepcopy(main["config_json"])
    config = {**kept, "steps": [RTB | {"failover_steps": kept["steps"]}]}  # same numbers, auctioned first
    async with connect("manager") as client:
        asked = await call(
            client,
            "update_call_flow",
            call_flow_id=main["id"],
            config_version=main["config_version"],
            config_json=config,
        )
        assert asked["status"] == "needs_confirmation" and flows.RTB_BUYERS in str(asked)
        assert main["config_json"] == kept
        view = await confirmed(
            client,
            "update_call_flow",
            call_flow_id=main["id"],
            config_version=main["config_version"],
            config_json=config,
        )
    assert main["config_json"]["steps"][0]["type"] == "rtb" and view["step_counts"]["rtb"] == 1


async def test_a_bad_rtb_step_is_refused_before_any_request(sandbox: Sandbox, connect: Connect) -> None:
    sent = len(sandbox.requests)
    async with connect("manager") as client:
        error = await call_error(
            client, "create_call_flow", name="Bad Auction", config_json={"steps": [{"type": "rtb"}]}
        )
    assert "failover_steps" in error and "Nothing was sent" in error
    assert len(sandbox.requests) == sent
