"""Input the API would refuse is refused before anything is sent, at the API's own limits (r13); input
people and command lines write naturally is accepted: digits typed as numbers, US numbers written
nationally (issue 16)."""

from __future__ import annotations

from typing import Any

import pytest

from cs_mcp.cli import parse_call_arguments
from cs_mcp.models import MAX_NAME_LENGTH
from cs_mcp.sandbox import Sandbox
from tests.conftest import Connect, call, call_error

pytestmark = pytest.mark.anyio
WEBSITE = "https://example.com"


def refusals(sandbox: Sandbox) -> list[tuple[str, dict[str, Any], str]]:
    """(tool, arguments, the argument named in the error): each beyond a limit the API enforces."""
    number = sandbox.state["numbers"][0]["id"]
    group = sandbox.state["number_groups"][0]["id"]
    too_long = "N" * (MAX_NAME_LENGTH + 1)
    return [
        ("update_number", {"number_id": number, "name": too_long}, "name"),
        ("create_number_group", {"name": too_long}, "name"),
        ("update_number_group", {"group_id": group, "name": too_long}, "name"),
        ("create_number_pool", {"name": too_long, "website_url": WEBSITE}, "name"),
        ("create_call_flow", {"name": too_long, "config_json": {"steps": [{"type": "greeting"}]}}, "name"),
        ("purchase_number", {"phone_number": "+18135550100", "name": too_long}, "name"),
        ("create_number_group", {"name": "Empty", "number_ids": []}, "number_ids"),
        ("create_number_pool", {"name": "p", "website_url": WEBSITE, "number_ids": []}, "number_ids"),
        ("list_calls", {"min_duration": 86_401}, "min_duration"),
        ("list_calls", {"max_duration": 100_000}, "max_duration"),
        ("get_call_analytics", {"min_duration": 86_401}, "min_duration"),
    ]


async def test_input_beyond_the_apis_limits_is_refused_before_anything_is_sent(
    sandbox: Sandbox, connect: Connect
) -> None:
    async with connect("manager") as client:
        for tool, arguments, field in refusals(sandbox):
            before = len(sandbox.requests)
            text = await call_error(client, tool, **arguments)
            assert "Invalid arguments" in text and f"`{field}`" in text, (tool, text)
            assert len(sandbox.requests) == before, f"{tool} {field} reached the API"


async def test_the_limits_are_the_apis_own(sandbox: Sandbox, connect: Connect) -> None:
    """At the limit, the same arguments pass here and the sandbox API takes them."""
    number = sandbox.state["numbers"][0]
    longest = "N" * MAX_NAME_LENGTH
    async with connect("manager") as client:
        await call(client, "update_number", number_id=number["id"], name=longest)
        await call(client, "create_number_group", name=longest)
        await call(client, "list_calls", min_duration=86_400)
    assert number["name"] == longest
    assert any(group["name"] == longest for group in sandbox.state["number_groups"])


async def test_digits_typed_as_numbers_are_read_as_text(sandbox: Sandbox, connect: Connect) -> None:
    """`cs-mcp call search_available_numbers area_code=813` sends 813, an integer (so does the Inspector)."""
    typed = parse_call_arguments(["area_code=813", "contains=55"], None)
    assert typed == {"area_code": 813, "contains": 55}
    async with connect("manager") as client:
        as_numbers = await call(client, "search_available_numbers", **typed)
        as_text = await call(client, "search_available_numbers", area_code="813", contains="55")
        assert as_numbers == as_text and as_text["numbers"]
        assert await call(client, "list_numbers", contains=813) == await call(
            client, "list_numbers", contains="813"
        )


def contact_with_texts(sandbox: Sandbox) -> str:
    return next(c["contact"] for c in sandbox.state["conversations"] if c["contact"].startswith("+1"))


async def test_a_us_number_written_nationally_is_read_as_e164(sandbox: Sandbox, connect: Connect) -> None:
    e164 = contact_with_texts(sandbox)
    area, exchange, line = e164[2:5], e164[5:8], e164[8:]
    spellings: list[Any] = [
        f"{area}{exchange}{line}",
        int(f"{area}{exchange}{line}"),
        int(f"1{area}{exchange}{line}"),
        f"({area}) {exchange}-{line}",
        f"1-{area}-{exchange}-{line}",
        f"{area}.{exchange}.{line}",
        f"+1 {area} {exchange} {line}",
    ]
    async with connect("viewer") as client:
        thread = await call(client, "get_text_thread", contact=e164)
        assert thread["items"]
        for spelling in spellings:
            assert await call(client, "get_text_thread", contact=spelling) == thread, spelling


async def test_a_national_number_reaches_the_api_as_e164(sandbox: Sandbox, connect: Connect) -> None:
    sender = next(n for n in sandbox.state["numbers"] if n["sms_enabled"])["phone_number"]
    async with connect("manager") as client:
        preview = await call(
            client, "send_sms", from_number=int(sender[1:]), to_number="(407) 555-0199", body="Hello"
        )
        await call(
            client,
            "send_sms",
            from_number=int(sender[1:]),
            to_number="(407) 555-0199",
            body="Hello",
            confirmation_token=preview["confirmation_token"],
        )
    sent = [t for t in sandbox.state["texts"] if t.get("to_number") == "+14075550199"]
    assert preview["preview"]["details"]["to"] == "+14075550199"
    assert len(sent) == 1 and sent[0]["from_number"] == sender


@pytest.mark.parametrize(
    "spelling",
    [
        "555-0199",
        "0135550199",
        "(113) 555-0199",
        "2-813-555-0199",
        5550199,
        "+1 (not valid)",
        "８１３５５５０１９９",
    ],
)
async def test_what_is_not_a_phone_number_is_refused_clearly(
    spelling: Any, sandbox: Sandbox, connect: Connect
) -> None:
    async with connect("viewer") as client:
        before = len(sandbox.requests)
        text = await call_error(client, "get_text_thread", contact=spelling)
    assert "`contact` must be a phone number in E.164 form such as +18135550100" in text
    assert len(sandbox.requests) == before
