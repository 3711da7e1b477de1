"""Big API answers neither hold the event loop nor cost a round trip per page: JSON past a size is decoded
in slices (same value as json.loads, same errors), and the webhook delivery log's pages are read
concurrently, in order, within the connection pool."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import pytest

from cs_mcp import sliced_json
from cs_mcp.api.webhooks import DELIVERY_PAGE, PAGES_AT_ONCE
from cs_mcp.client import SLICED_DECODING_BYTES, CallScalerClient
from cs_mcp.errors import MalformedResponse, ServerError
from cs_mcp.secrets import Secret
from tests.fake_time import FakeTime
from tests.test_listing_slices import turns_counted

pytestmark = pytest.mark.anyio

KEY = "cs_key_live_Hn4Tq8Zp2Wx6Lc0Vb9Mr"

DOCUMENTS = [
    "{}",
    "[]",
    '{"data": {"voicemails": [{"id": 1, "t": "a\\u00e9\\ud83d\\ude00"}, {"id": 2}], "total": 2}}',
    ' \n{ "data" : [ 1 , "x" , { "k" : [ ] } , null , true , 1.5e3 ] } \t',
    '{"data": {"items": [[1, [2, [3]]], {"deep": {"deeper": {"deepest": []}}}]}}',
    '{"a": 1, "a": 2}',
    '"just a string"',
    "-0.25",
]
MALFORMED = ["{", "[1,]", '{"a": 1,}', '{"a" 1}', "[1 2]", "{} x", "", "{a: 1}", "[1,", '{"a":', '{"a": [1] ']


@pytest.mark.parametrize("text", DOCUMENTS)
async def test_sliced_decoding_reads_what_json_loads_reads(text: str) -> None:
    assert await sliced_json.loads(text, slice_seconds=0) == json.loads(text)


@pytest.mark.parametrize("text", MALFORMED)
async def test_sliced_decoding_refuses_what_json_loads_refuses(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    with pytest.raises(json.JSONDecodeError):
        await sliced_json.loads(text, slice_seconds=0)


async def test_other_tasks_run_while_a_big_list_is_decoded() -> None:
    text = json.dumps({"data": {"items": [{"id": n} for n in range(200)], "total": 200}})
    async with turns_counted() as turns:
        decoded = await sliced_json.loads(text, slice_seconds=0)  # a turn before every item
    assert turns[0] >= 200
    assert decoded == json.loads(text)


def client_for(handler: Any) -> CallScalerClient:
    return CallScalerClient(
        Secret(KEY),
        "http://api.test/api/v1",
        transport=httpx.MockTransport(handler),
        retry=FakeTime().policy(max_attempts=1),
    )


async def test_a_big_answer_decodes_to_the_same_data_and_a_broken_one_is_malformed() -> None:
    voicemails = [{"id": f"vm{n}", "transcript": "x" * 100} for n in range(SLICED_DECODING_BYTES // 100)]
    body = json.dumps({"data": {"voicemails": voicemails, "total": len(voicemails)}}).encode()
    assert len(body) > SLICED_DECODING_BYTES
    client = client_for(lambda request: httpx.Response(200, content=body))
    assert await client.get("/voicemails") == {"voicemails": voicemails, "total": len(voicemails)}
    broken = client_for(lambda request: httpx.Response(200, content=body[:-2]))
    with pytest.raises(MalformedResponse):
        await broken.get("/voicemails")


class DeliveryLog:
    """A delivery log API that answers after every request in flight has been sent (up to `burst`),
    so the most in flight at once shows whether pages are read concurrently."""

    def __init__(self, size: int, *, fail_offset: int | None = None) -> None:
        self.deliveries = [{"id": n, "success": True} for n in range(size)]
        self.fail_offset = fail_offset
        self.in_flight = self.most_in_flight = 0
        self.offsets: list[int] = []

    async def handler(self, request: httpx.Request) -> httpx.Response:
        offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
        self.offsets.append(offset)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        for _ in range(PAGES_AT_ONCE):  # let the other fetches reach this point too
            await anyio.sleep(0)
        self.in_flight -= 1
        if offset == self.fail_offset:
            return httpx.Response(500, json={"error": {"message": "boom"}})
        page = self.deliveries[offset : offset + limit]
        return httpx.Response(200, json={"data": {"deliveries": page, "total": len(self.deliveries)}})


@pytest.mark.parametrize("size", [0, 3, DELIVERY_PAGE, DELIVERY_PAGE * 5 + 7, DELIVERY_PAGE * 12])
async def test_the_whole_delivery_log_is_read_in_order_with_pages_in_flight_together(size: int) -> None:
    log = DeliveryLog(size)
    items = await client_for(log.handler).webhooks.deliveries()
    assert items == log.deliveries
    pages = -(-size // DELIVERY_PAGE) or 1
    ends_on_a_boundary = size > 0 and size % DELIVERY_PAGE == 0  # then one more page, empty, says so
    assert sorted(log.offsets) == [n * DELIVERY_PAGE for n in range(pages + ends_on_a_boundary)]
    if pages > 2:
        assert 1 < log.most_in_flight <= PAGES_AT_ONCE


async def test_a_failed_page_fails_the_read_with_the_api_error_itself() -> None:
    log = DeliveryLog(DELIVERY_PAGE * 6, fail_offset=DELIVERY_PAGE * 3)
    with pytest.raises(ServerError):
        await client_for(log.handler).webhooks.deliveries()
