"""Many API reads at once, a few at a time: what the tools that go through every thread or form use.

The API client's pool holds 20 connections for every call the server runs; one tool keeps to a share of
them, so a search over a thousand threads does not stall the other callers' requests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import anyio

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

# Requests one tool call keeps in flight at once (the client's pool holds 20).
CONCURRENT_REQUESTS = 6


async def gather(
    fetch: Callable[[ItemT], Awaitable[ResultT]],
    items: Sequence[ItemT],
    limit: int = CONCURRENT_REQUESTS,
) -> list[ResultT]:
    """`fetch(item)` for every item, at most `limit` at a time, in the items' order. The first failure
    cancels the rest and is raised as itself (not inside an exception group)."""
    results: dict[int, ResultT] = {}
    limiter = anyio.CapacityLimiter(limit)

    async def one(index: int, item: ItemT) -> None:
        async with limiter:
            results[index] = await fetch(item)

    try:
        async with anyio.create_task_group() as group:
            for index, item in enumerate(items):
                group.start_soon(one, index, item)
    except BaseExceptionGroup as failures:
        raise _first(failures) from None
    return [results[index] for index in range(len(items))]


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first
