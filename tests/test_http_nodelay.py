"""Answers over HTTP are not held back by Nagle's algorithm: asyncio turns TCP_NODELAY on only for
sockets that name their protocol (IPPROTO_TCP), and uvicorn's own bind names none, so `serve --transport
http` (every replica of a multi-process set-up) listens on sockets from `listening_sockets`. A
connection accepted there has TCP_NODELAY on; one accepted on a socket made uvicorn's way has it off,
which is why it matters (answers then wait up to 40 ms for the client's delayed ACK)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from cs_mcp.http import listening_sockets

pytestmark = pytest.mark.anyio


async def nodelay_of_accepted(listener: socket.socket) -> int:
    """TCP_NODELAY of the server side of a connection accepted by asyncio, as uvicorn accepts them."""
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
    try:
        port = listener.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            return await asyncio.wait_for(accepted, 10)
        finally:
            writer.close()
    finally:
        server.close()


async def test_connections_accepted_by_serve_have_nodelay_on() -> None:
    (listener,) = listening_sockets("127.0.0.1", 0, 16)
    assert await nodelay_of_accepted(listener) != 0


async def test_a_socket_that_names_no_protocol_would_leave_nagle_on() -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # uvicorn's bind_socket, --workers' path
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    assert await nodelay_of_accepted(listener) == 0
