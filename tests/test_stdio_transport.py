"""cs_mcp's stdio transport (cs_mcp/stdio_transport.py): `cs-mcp serve --sandbox` spawned over real pipes,
spoken to line by line, plus the pieces a subprocess cannot show (which descriptors the loop polls,
back-pressure on a full pipe)."""

from __future__ import annotations

import json
import os
import pty
import select
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp_types import ElicitResult

from cs_mcp.stdio_transport import _pollable, _write_all

CLI = [sys.executable, "-m", "cs_mcp", "serve", "--sandbox"]
ANSWER_DEADLINE_S = 120  # a guard against a hung server, not a timing assertion

HANDSHAKE = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": HANDSHAKE}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def line(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"


def tool_call(request_id: int, tool: str) -> bytes:
    return line(
        {
            "jsonrpc": "2.0",
            "id": request_id,
            "method": "tools/call",
            "params": {"name": tool, "arguments": {}},
        }
    )


def ping(request_id: Any) -> bytes:
    return line({"jsonrpc": "2.0", "id": request_id, "method": "ping"})


class Server:
    """A `cs-mcp serve --sandbox` child; its answers read from `answers` (a pipe's read end)."""

    def __init__(self, process: subprocess.Popen[bytes], answers: int) -> None:
        self.process = process
        self.answers = answers
        self.unread = b""
        self.notifications: list[dict[str, Any]] = []

    def send(self, *lines: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"".join(lines))
        self.process.stdin.flush()

    def receive(self) -> dict[str, Any]:
        """The next answer; notifications (progress, log lines under load) are kept aside."""
        while True:
            while b"\n" not in self.unread:
                ready, _, _ = select.select([self.answers], [], [], ANSWER_DEADLINE_S)
                assert ready, "the server did not answer"
                chunk = os.read(self.answers, 1 << 20)
                assert chunk, f"the server closed stdout (exit code {self.process.wait()})"
                self.unread += chunk
            message, _, self.unread = self.unread.partition(b"\n")
            received = json.loads(message)
            if "id" in received:
                return received
            self.notifications.append(received)

    def initialize(self) -> None:
        self.send(line(INITIALIZE), line(INITIALIZED))
        assert self.receive()["id"] == 1

    def end_of_input(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        return self.process.wait(ANSWER_DEADLINE_S)


@contextmanager
def serving(*argv: str, stdin: int | IO[bytes] = subprocess.PIPE) -> Iterator[Server]:
    process = subprocess.Popen([*CLI, *argv], stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    try:
        yield Server(process, process.stdout.fileno())
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
        if process.stdin is not None:
            process.stdin.close()


def test_a_ping_is_answered_while_a_big_list_runs() -> None:
    with serving("--sandbox-scale", "100") as server:
        server.initialize()
        server.send(tool_call(2, "list_webhook_deliveries"), tool_call(3, "get_capabilities"))
        first, second = server.receive(), server.receive()
        assert (first["id"], second["id"]) == (3, 2)  # the ping did not wait for the list
        assert not first["result"]["isError"] and not second["result"]["isError"]


def test_end_of_input_answers_what_was_read_then_exits_0() -> None:
    with serving() as server:
        server.send(line(INITIALIZE), line(INITIALIZED), ping(2), tool_call(3, "list_numbers"))
        assert server.end_of_input() == 0
        answers = [server.receive() for _ in range(3)]
        assert sorted(answer["id"] for answer in answers) == [1, 2, 3]


def test_bad_lines_are_handed_over_as_the_sdk_does_and_serving_goes_on() -> None:
    # The SDK's transport answers none of these (the server logs the parse error), splits lines
    # as Python's text files do, and replaces invalid UTF-8.
    with serving() as server:
        server.initialize()
        server.send(b"not json\n", b"\n", b'{"jsonrpc": "2.0"}\n', b"\xff\xfe{\n")
        server.send(ping(2)[:-1] + b"\r\n", ping(3)[:-1] + b"\r" + ping(4))
        server.send(line({"jsonrpc": "2.0", "id": 5, "method": "ping"}).replace(b"5", b'"\xff"'))
        answers = [server.receive() for _ in range(4)]
        assert [answer["id"] for answer in answers] == [2, 3, 4, "\N{REPLACEMENT CHARACTER}"]
        assert all(answer["result"] == {} for answer in answers)


def test_a_cancelled_request_is_not_waited_for_at_end_of_input() -> None:
    with serving("--sandbox-scale", "100") as server:
        server.initialize()
        cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 2}}
        server.send(tool_call(2, "list_webhook_deliveries"), line(cancel), ping(3))
        assert server.receive()["id"] == 3
        assert server.end_of_input() == 0


def test_an_open_subscription_is_not_waited_for_at_end_of_input() -> None:
    """A 2026-07-28 `subscriptions/listen` is answered only when the client ends it; a client that
    closes stdin has ended it."""
    era = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    listen = {"notifications": {"toolsListChanged": True}, "_meta": era}
    with serving() as server:
        server.send(
            line({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": era}}),
            line({"jsonrpc": "2.0", "id": "listen", "method": "subscriptions/listen", "params": listen}),
            line({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": era}}),
        )
        assert server.end_of_input() == 0
        assert {server.receive()["id"], server.receive()["id"]} == {1, 2}


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_elicitation_and_progress_over_stdio(mode: str) -> None:
    asked: list[str] = []
    progress: list[float] = []

    async def accept(context: Any, params: Any) -> ElicitResult:
        asked.append(params.message)
        return ElicitResult(action="accept", content={"confirm": True})

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "cs_mcp", "serve", "--sandbox", "--role", "manager"],
        env={**os.environ},
    )
    async with Client(server, mode=mode, elicitation_callback=accept) as client:  # type: ignore[arg-type]
        numbers = await client.call_tool(
            "list_numbers", {"limit": 1, "has_calls": False}, progress_callback=on_progress
        )
        target = numbers.structured_content["items"][0]  # type: ignore[index]
        released = await client.call_tool("release_number", {"number_id": target["id"]})
        assert not released.is_error and released.structured_content["status"] == "done"  # type: ignore[index]
    assert len(asked) == 1 and target["phone_number"] in asked[0]
    assert progress == [0, 1]


def test_a_multi_megabyte_message_goes_through_both_ways() -> None:
    big_id = "x" * (5 << 20)  # answered with the same id: 5 MB in, 5 MB out
    with serving() as server:
        server.initialize()
        server.send(ping(big_id), ping(3))
        assert server.receive() == {"jsonrpc": "2.0", "id": big_id, "result": {}}
        assert server.receive()["id"] == 3


def test_stdin_a_regular_file_falls_back_to_the_sdk_transport(tmp_path: Path) -> None:
    requests = tmp_path / "requests.jsonl"
    requests.write_bytes(line(INITIALIZE))
    with requests.open("rb") as stdin, serving(stdin=stdin) as server:
        assert server.receive()["id"] == 1
        assert server.process.wait(ANSWER_DEADLINE_S) == 0


def test_the_loop_polls_pipes_and_sockets_only(tmp_path: Path) -> None:
    """Regular files, /dev/null and terminals are left to the SDK's transport: epoll refuses the
    first two, and a terminal's flags are shared with the shell."""
    read_end, write_end = os.pipe()
    ours, theirs = socket.socketpair()
    controller, terminal = pty.openpty()
    with (tmp_path / "file").open("wb") as regular, open(os.devnull, "rb") as null:
        assert _pollable(read_end) and _pollable(write_end) and _pollable(ours.fileno())
        assert not _pollable(regular.fileno()) and not _pollable(null.fileno()) and not _pollable(terminal)
    for fd in (read_end, write_end, controller, terminal):
        os.close(fd)
    ours.close()
    theirs.close()


def test_the_inherited_pipes_stay_blocking_for_whoever_shares_them() -> None:
    """O_NONBLOCK belongs to the open file description, which the parent shares: here the test holds
    the very descriptions the server was given and watches their flags."""
    stdin_read, stdin_write = os.pipe()
    stdout_read, stdout_write = os.pipe()
    process = subprocess.Popen(CLI, stdin=stdin_read, stdout=stdout_write, stderr=subprocess.DEVNULL)
    try:
        server = Server(process, stdout_read)
        os.write(stdin_write, line(INITIALIZE) + line(INITIALIZED))
        assert server.receive()["id"] == 1
        if sys.platform == "linux":  # the pipes were reopened as descriptions of the server's own
            assert os.get_blocking(stdin_read) and os.get_blocking(stdout_write)
        os.close(stdin_write)
        assert process.wait(ANSWER_DEADLINE_S) == 0
        assert os.get_blocking(stdin_read) and os.get_blocking(stdout_write)
    finally:
        process.kill()
        process.wait()
        for fd in (stdin_read, stdout_read, stdout_write):
            os.close(fd)


def test_socket_stdio_has_its_flags_put_back_on_exit() -> None:
    """A socket cannot be reopened, so its shared flags are set while serving, and restored."""
    client, served = socket.socketpair()
    process = subprocess.Popen(CLI, stdin=served, stdout=served, stderr=subprocess.DEVNULL)
    try:
        server = Server(process, client.fileno())
        client.sendall(line(INITIALIZE) + line(INITIALIZED) + ping(2))
        assert [server.receive()["id"], server.receive()["id"]] == [1, 2]
        client.shutdown(socket.SHUT_WR)
        assert process.wait(ANSWER_DEADLINE_S) == 0
        assert served.getblocking() and os.get_blocking(served.fileno())
    finally:
        process.kill()
        process.wait()
        client.close()
        served.close()


@pytest.mark.anyio
async def test_a_full_pipe_holds_the_sender_instead_of_buffering() -> None:
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    line_out = b"y" * (4 << 20)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_write_all, write_end, line_out)
            await anyio.wait_all_tasks_blocked()
            first = os.read(read_end, len(line_out))
            assert 0 < len(first) < len(line_out)  # what the pipe holds, no more: the rest waits
            received = bytearray(first)
            while len(received) < len(line_out):
                await anyio.wait_readable(read_end)
                received += os.read(read_end, len(line_out))
        assert received == line_out
    finally:
        os.close(read_end)
        os.close(write_end)
