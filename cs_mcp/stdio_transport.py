"""MCP's stdio transport, server side, driven by the event loop itself.

The SDK's `stdio_server` reads stdin and writes stdout through worker threads: each line crosses
threads several times, and each crossing waits for the GIL while the loop is busy, so a ping sent
during a big list waited 36-113 ms. Here the loop polls non-blocking descriptors of the same pipes
(no threads), so a line is read, and its answer written, at the loop's next turn.

What the client sees is the SDK's transport: newline-delimited JSON-RPC in UTF-8 (invalid bytes
replaced), lines split as Python's text files split them, a line that is not a JSON-RPC message handed
to the server as the SDK hands it, no line-length limit, end of stdin ends the session (once the
requests already read are answered: see `_Owed`). While serving, fd 0 reads the null device and fd 1
writes to stderr, so stray reads and prints (ours or a child's) miss the wire, as with the SDK; both
are put back on exit. Where the loop cannot poll the descriptors (stdin or stdout a regular file,
/dev/null or a terminal; Windows), the SDK's transport serves.
"""

from __future__ import annotations

import os
import stat
import sys
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, ExitStack, asynccontextmanager, contextmanager, suppress
from typing import Any

import anyio
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

# Requests the server answers only when the client ends them (2026-07-28's change stream): not owed.
OPEN_ENDED = frozenset({"subscriptions/listen"})

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
            if message.method not in OPEN_ENDED:
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
    # No transport tasks: the server's reading task reads the pipe and each sender writes its own
    # line, so a ping crosses no task hand-offs beyond the server's own.
    owed = _Owed()
    yield _StdinMessages(reading, owed), _StdoutMessages(writing, owed)


class _StdinMessages:
    """The client's messages, read from the pipe by the task that receives them."""

    def __init__(self, fd: int, owed: _Owed) -> None:
        self._fd = fd
        self._owed = owed
        self._partial = bytearray()
        self._lines: deque[bytes] = deque()
        self._ended = False

    async def receive(self) -> SessionMessage | Exception:
        while not self._lines:
            if self._ended:
                await self._owed.settled()
                raise anyio.EndOfStream
            self._take(await _read_chunk(self._fd))
        try:
            message = jsonrpc_message_adapter.validate_json(
                self._lines.popleft().decode("utf-8", errors="replace"), by_name=False
            )
        except Exception as exc:  # the SDK hands the server the parse error, and reads on
            return exc
        self._owed.read(message)
        return SessionMessage(message)

    def _take(self, chunk: bytes) -> None:
        """Lines end in "\\n", "\\r\\n" or a lone "\\r", as the SDK's text reader (universal newlines)
        splits them; at end of input a last line without an end counts too."""
        if not chunk:
            self._ended = True
            ended = [bytes(self._partial)] if self._partial else []
            self._partial.clear()
        else:
            *ended, rest = chunk.split(b"\n")
            if not ended:
                self._partial += rest
                return
            self._partial += ended[0]
            ended[0] = bytes(self._partial)
            self._partial = bytearray(rest)
        for line in ended:
            self._lines.extend(line.removesuffix(b"\r").split(b"\r"))

    async def aclose(self) -> None:
        self._ended = True
        self._lines.clear()

    def __aiter__(self) -> _StdinMessages:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _StdinMessages:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class _StdoutMessages:
    """The server's messages, each written to the pipe by the task that sends it, one line at a time."""

    def __init__(self, fd: int, owed: _Owed) -> None:
        self._fd = fd
        self._owed = owed
        self._one_line_at_a_time = anyio.Lock(fast_acquire=True)  # no loop turn when free
        self._closed = False
        self._client_gone = False

    async def send(self, message: SessionMessage) -> None:
        if self._closed:
            raise anyio.ClosedResourceError
        line = (message.message.model_dump_json(by_alias=True, exclude_unset=True) + "\n").encode()
        async with self._one_line_at_a_time:
            if self._client_gone:  # nobody reads: the session ends at end of stdin
                return
            try:
                await _write_all(self._fd, line)
            except (BrokenPipeError, ConnectionResetError):
                self._client_gone = True
                self._owed.stopped_writing()
                return
        self._owed.written(message.message)

    async def aclose(self) -> None:
        self._closed = True
        self._owed.stopped_writing()

    async def __aenter__(self) -> _StdoutMessages:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


async def _read_chunk(fd: int) -> bytes:
    """Whatever the pipe holds (b"" at end of input), waiting on the loop while it holds nothing."""
    while True:
        try:
            return os.read(fd, READ_CHUNK)
        except BlockingIOError:
            await anyio.wait_readable(fd)
        except ConnectionResetError:  # a socket's client vanished: end of input
            return b""


async def _write_all(fd: int, line: bytes) -> None:
    """All of the line, waiting on the loop while the pipe is full: a client that stops reading holds
    the senders here rather than growing a buffer. Once part of a line is out, the rest follows even
    if the sender is cancelled, or the wire would tear."""
    unwritten = memoryview(line)
    while True:
        with suppress(BlockingIOError):
            unwritten = unwritten[os.write(fd, unwritten) :]
        if not unwritten:
            return
        with anyio.CancelScope(shield=len(unwritten) < len(line)):
            await anyio.wait_writable(fd)
