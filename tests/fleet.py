"""Real parts for the state-store tests, started and stopped by the tests: a `redis-server` in a temporary
folder, one `cs-mcp sandbox` REST API, `cs-mcp serve --transport http` replicas pointed at it, and a
round-robin HTTP proxy in front of them (each request to the next replica: no affinity at all).

Everything binds 127.0.0.1 on free ports. A missing `redis-server` fails the test loudly (`.ci/run`
installs it)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.requests import Request
from starlette.responses import Response

KEY = "cs_key_sandbox_manager"
CLI = [sys.executable, "-m", "cs_mcp"]
START_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(ready: Any, what: str, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll `ready()` until true; fail with the process's stderr if it died or never got there."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        try:
            if ready():
                return
        except (OSError, httpx.TransportError):
            pass
        time.sleep(0.05)
    error = (
        process.stderr.read().decode() if process and process.stderr and process.poll() is not None else ""
    )
    raise AssertionError(f"{what} did not start: {error}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class RedisServer:
    """A real redis-server on a free loopback port, persisting to a temporary folder (append-only file),
    so a stop and start keep what it held, as a production Redis would. `fsync`: Redis's appendfsync,
    "always" (every write on disk before it is answered) or "everysec" (its default with AOF)."""

    def __init__(self, folder: Path, fsync: str = "always") -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed: apt-get install -y redis-server (.ci/run does)"
        self.binary, self.folder, self.port, self.fsync = binary, folder, free_port(), fsync
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                self.fsync,
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        wait_until(self.answers, "redis-server", self.process)

    def answers(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)  # redis-server saves and exits on SIGTERM
            self.process.wait(timeout=20)
            self.process = None


@contextmanager
def running_redis(tmp_path: Path, fsync: str = "always") -> Iterator[RedisServer]:
    folder = tmp_path / f"redis-{fsync}"
    folder.mkdir()
    server = RedisServer(folder, fsync)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Sandbox:
    """One `cs-mcp sandbox` REST API that every replica talks to."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [*CLI, "sandbox", "--port", str(self.port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self.base_url = f"http://127.0.0.1:{self.port}/api/v1"
        wait_until(
            lambda: httpx.get(f"{self.base_url}/numbers", headers=self.auth, timeout=2).status_code == 200,
            "cs-mcp sandbox",
            self.process,
        )

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {KEY}"}

    def writes(self, endpoint: str) -> int:
        """How many writes to `endpoint` ("POST /numbers/purchase") the API actually applied."""
        seen = httpx.get(f"http://127.0.0.1:{self.port}/_sandbox/requests", timeout=10).json()
        return int(seen["write_counts"].get(endpoint, 0))

    def numbers(self) -> list[dict[str, Any]]:
        return list(
            httpx.get(f"{self.base_url}/numbers", headers=self.auth, timeout=10).json()["data"]["numbers"]
        )

    def close(self) -> None:
        stop(self.process)


class Replica:
    """`cs-mcp serve --transport http` on its own port, against the shared sandbox, with `--state`."""

    def __init__(self, sandbox: Sandbox, state: str, options: Sequence[str] = ()) -> None:
        self.sandbox, self.state, self.options = sandbox, state, tuple(options)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def launch(self) -> None:
        self.process = subprocess.Popen(
            [
                *CLI,
                "serve",
                "--transport",
                "http",
                "--port",
                str(self.port),
                "--role",
                "manager",
                "--base-url",
                self.sandbox.base_url,
                "--state",
                self.state,
                *self.options,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "CALLSCALER_API_KEY": KEY},
        )

    def wait(self) -> None:
        assert self.process is not None
        wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200,
            f"replica on {self.port}",
            self.process,
        )

    def kill(self) -> None:
        """Gone at once, as a crashed machine: no shutdown of any kind."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def close(self) -> None:
        if self.process is not None:
            stop(self.process)


def start_replicas(sandbox: Sandbox, state: str, count: int, options: Sequence[str] = ()) -> list[Replica]:
    replicas = [Replica(sandbox, state, options) for _ in range(count)]
    for replica in replicas:  # launched together: they start in parallel
        replica.launch()
    for replica in replicas:
        replica.wait()
    return replicas


class RoundRobinProxy:
    """Sends each HTTP request to the next replica in turn (whole bodies, no streaming: every answer of
    the 2026-07-28 era is a complete response), on a thread of its own."""

    def __init__(self, backends: Sequence[str]) -> None:
        self.backends, self.turn, self.port = list(backends), 0, free_port()
        self.client = httpx.AsyncClient(timeout=60)
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", interface="asgi3"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_until(lambda: self.server.started, "the proxy")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    async def app(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        backend = self.backends[self.turn % len(self.backends)]
        self.turn += 1
        headers = {k: v for k, v in request.headers.items() if k not in {"host", "content-length"}}
        answer = await self.client.request(
            request.method, f"{backend}{request.url.path}", headers=headers, content=await request.body()
        )
        passed = {
            k: v
            for k, v in answer.headers.items()
            if k not in {"content-length", "transfer-encoding", "content-encoding"}
        }
        await Response(answer.content, answer.status_code, passed)(scope, receive, send)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
