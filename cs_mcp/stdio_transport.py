"""MCP's stdio transport, server side, driven by the event loop itself.

The SDK's `stdio_server` reads stdin and writes stdout through worker threads: each line crosses
threads several times, and each crossing waits for the GIL while the loop is busy, so a ping sent
during a big list waited 36-113 ms. Here the loop polls non-blocking descriptors of the same pipes
(no threads), so a line is read, and its answer written, at the loop's next turn.

What the client sees is the SDK's transport: newline-delimited JSON-RPC in UTF-8 (invalid bytes
replaced), lines split as Python's text files split them, a line that is not a JSON-RPC message handed
to the server as the SDK hands it, no line-length limit, end of stdin ends the session (once the
requests already read are answered: see `_Owed`). While serving,
fd 0 reads the null device and fd 1 writes to stderr, so stray reads and prints (ours or a child's)
miss the wire, as with the SDK; both are put back on exit. Where the loop cannot poll the descriptors
(stdin or stdout a regular file, /dev/null or a terminal; Windows), the SDK's transport serves.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, ExitStack, asynccontextmanager, contextmanager
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp_types import (
    JSONRPCError,
    JSONRPCMessage,
    JSONRPCNotification,
    JSONRPCRequest,
    JSONRPCResponse,
    jsonrpc_message_adapter,
)

from cs_mcp.sdk import ReadStream, WriteStream, serve_session

if sys.platform != "win32":
    import fcntl

# A pipe's default capacity on Linux: one read takes whatever a full pipe holds.
READ_CHUNK = 1 << 16

Streams = tuple[ReadStream[SessionMessage | Exception], WriteStream[SessionMessage]]


def run_stdio(server: MCPServer[Any]) -> None:
    """Serve one client over stdin/stdout until it closes stdin (what `MCPServer.run("stdio")` does)."""
    anyio.run(_serve, server)


async def _serve(server: MCPServer[Any]) -> None:
    async with stdio_streams() as (read_stream, write_stream):
        await serve_session(server, read_stream, write_stream)


@asynccontextmanager
async def stdio_streams() -> AsyncIterator[Streams]:
    """The (read, write) stream pair of the SDK's `stdio_server()`, served by the loop where it can poll."""
    with ExitStack() as claims:
        wire = _claim_wire(claims)
        transport: AbstractAsyncContextManager[Streams] = (
            stdio_server() if wire is None else _loop_streams(*wire)
        )
        async with transport as streams:
            yield streams


def _claim_wire(claims: ExitStack) -> tuple[int, int] | None:
    """Non-blocking descriptors of the stdin and stdout pipes, or None where the loop cannot poll them."""
    if sys.platform == "win32" or not (_pollable(0) and _pollable(1)):
        return None
    try:
        reading = claims.enter_context(_claimed(0, os.O_RDONLY, _divert_stdin))
        writing = claims.enter_context(_claimed(1, os.O_WRONLY, _divert_stdout))
    except OSError:  # a descriptor that cannot be duplicated or diverted: the SDK's transport copes
        claims.close()
        return None
    return reading, writing


def _pollable(fd: int) -> bool:
    """A pipe or a socket; epoll refuses regular files and /dev/null, and a terminal stays blocking
    for the shell that shares it."""
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


@contextmanager
def _claimed(std_fd: int, access: int, divert: Callable[[], None]) -> Iterator[int]:
    """A non-blocking descriptor of std_fd's pipe, with std_fd pointed away from it meanwhile."""
    saved = fcntl.fcntl(std_fd, fcntl.F_DUPFD_CLOEXEC, 3)
    try:
        with _nonblocking(saved, access) as wire:
            divert()
            try:
                yield wire
            finally:
                os.dup2(saved, std_fd)
    finally:
        os.close(saved)


@contextmanager
def _nonblocking(fd: int, access: int) -> Iterator[int]:
    """A non-blocking descriptor of fd's pipe. O_NONBLOCK belongs to the open file description, which
    the parent shell may share, so the pipe is reopened as a description of our own where the system
    allows (Linux); elsewhere (a socket, macOS) fd's own flags are set, and put back on exit."""
    try:
        private = os.open(f"/proc/self/fd/{fd}", access | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        try:
            yield fd
        finally:
            fcntl.fcntl(fd, fcntl.F_SETFL, flags)
    else:
        try:
            yield private
        finally:
            os.close(private)


def _divert_stdin() -> None:
    null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.dup2(null, 0)
    finally:
        os.close(null)


def _divert_stdout() -> None:
    os.dup2(2, 1)


class _Owed:
    """The answers each side still owes, so that end of stdin ends the session only once the server
    has answered the requests it read: a script that pipes requests into `cs-mcp serve` gets every
    answer (the SDK's threads answered only those that beat the end of input). It stops waiting where
    no answer can come: the server awaits the client, which has gone, or its output has closed."""

    def __init__(self) -> None:
        self.by_server: set[Any] = set()  # ids of the client's requests
        self.by_client: set[Any] = set()  # ids of the server's requests
        self.writing = True
        self._changed = anyio.Event()

    def read(self, message: JSONRPCMessage) -> None:
        if isinstance(message, JSONRPCRequest):
            self.by_server.add(message.id)
        elif isinstance(message, JSONRPCResponse | JSONRPCError):
            self.by_client.discard(message.id)
        elif message.method == "notifications/cancelled":  # a cancelled request goes unanswered
            self.by_server.discard((message.params or {}).get("requestId"))

    def written(self, message: JSONRPCMessage) -> None:
        if isinstance(message, JSONRPCRequest):
            self.by_client.add(message.id)
        elif not isinstance(message, JSONRPCNotification):
            self.by_server.discard(message.id)
        self._wake()

    def stopped_writing(self) -> None:
        self.writing = False
        self._wake()

    async def settled(self) -> None:
        while self.by_server and not self.by_client and self.writing:
            await self._changed.wait()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()


@asynccontextmanager
async def _loop_streams(reading: int, writing: int) -> AsyncIterator[Streams]:
    incoming, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, outgoing = anyio.create_memory_object_stream[SessionMessage](0)
    owed = _Owed()
    async with anyio.create_task_group() as session:
        session.start_soon(_read_messages, reading, incoming, owed)
        session.start_soon(_write_messages, writing, outgoing, owed, session.cancel_scope)
        yield read_stream, write_stream


async def _read_messages(
    fd: int, incoming: MemoryObjectSendStream[SessionMessage | Exception], owed: _Owed
) -> None:
    async with incoming:
        async for line in _lines(fd):
            try:
                message = jsonrpc_message_adapter.validate_json(
                    line.decode("utf-8", errors="replace"), by_name=False
                )
            except Exception as exc:  # the SDK hands the server the parse error, and reads on
                item: SessionMessage | Exception = exc
            else:
                owed.read(message)
                item = SessionMessage(message)
            try:
                await incoming.send(item)
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):  # the session has ended
                return
        await owed.settled()


async def _lines(fd: int) -> AsyncIterator[bytes]:
    """Each line read from fd, without its end: "\\n", "\\r\\n" or a lone "\\r", as the SDK's text
    reader (universal newlines) splits them; a last line without an end included."""
    pending = bytearray()
    while chunk := await _read_chunk(fd):
        *ended, rest = chunk.split(b"\n")
        if ended:
            pending += ended[0]
            ended[0] = bytes(pending)
            pending = bytearray(rest)
            for line in ended:
                for part in line.removesuffix(b"\r").split(b"\r"):
                    yield part
        else:
            pending += rest
    if pending:
        for part in bytes(pending).removesuffix(b"\r").split(b"\r"):
            yield part


async def _read_chunk(fd: int) -> bytes:
    """Whatever the pipe holds (b"" at end of input), waiting on the loop while it holds nothing."""
    while True:
        try:
            return os.read(fd, READ_CHUNK)
        except BlockingIOError:
            await anyio.wait_readable(fd)
        except ConnectionResetError:  # a socket's client vanished: end of input
            return b""


async def _write_messages(
    fd: int, outgoing: MemoryObjectReceiveStream[SessionMessage], owed: _Owed, session: anyio.CancelScope
) -> None:
    try:
        async with outgoing:
            async for message in outgoing:
                line = message.message.model_dump_json(by_alias=True, exclude_unset=True) + "\n"
                try:
                    await _write_all(fd, line.encode())
                except (BrokenPipeError, ConnectionResetError):  # the client stopped reading for good
                    session.cancel()
                    return
                owed.written(message.message)
    finally:
        owed.stopped_writing()


async def _write_all(fd: int, data: bytes) -> None:
    """All of data, waiting on the loop while the pipe is full: a client that stops reading holds
    the writer here, and the server's sends behind it, rather than growing a buffer."""
    unwritten = memoryview(data)
    while unwritten:
        try:
            unwritten = unwritten[os.write(fd, unwritten) :]
        except BlockingIOError:
            await anyio.wait_writable(fd)
