"""The sandbox over a real socket: uvicorn serving `sb.app`, and `run_server` as the CLI starts it."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from cs_mcp.sandbox import SANDBOX_KEYS, Sandbox

from .conftest import NOW

HEADERS = {"Authorization": f"Bearer {SANDBOX_KEYS['manager']}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, str]]:
    """A sandbox served by uvicorn in a thread on a free loopback port; stopped after the test."""
    sb = Sandbox(now=NOW)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(sb.app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    yield sb, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_over_http_reads_writes_faults_and_drops(served: tuple[Sandbox, str]) -> None:
    sb, root = served
    with httpx.Client(base_url=root, timeout=5) as http:
        numbers = http.get("/api/v1/numbers", headers=HEADERS)
        assert numbers.status_code == 200 and numbers.json()["data"]["total"] == len(sb.state["numbers"])

        sender = next(n["phone_number"] for n in sb.state["numbers"] if n["sms_enabled"])
        text = {"from_number": sender, "to_number": "+14155550123", "body": "Over the wire"}
        sent = http.post("/api/v1/texts", headers=HEADERS, json=text)
        assert sent.status_code == 201 and sb.state["texts"][-1]["body"] == "Over the wire"

        added = http.post(
            "/_sandbox/faults", json={"kind": "status", "status": 429, "retry_after": 2, "times": 1}
        )
        assert added.status_code == 201
        limited = http.get("/api/v1/call-flows", headers=HEADERS)
        assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
        assert http.get("/api/v1/call-flows", headers=HEADERS).status_code == 200

        http.post("/_sandbox/faults", json={"spec": "drop:method=POST:path=/texts"})
        with pytest.raises(httpx.RemoteProtocolError):
            http.post("/api/v1/texts", headers=HEADERS, json=text)
        assert http.delete("/_sandbox/faults").json() == {"faults": []}
        assert (
            http.get("/api/v1/numbers/bulk-stats", headers=HEADERS).status_code == 200
        )  # a new connection works

        counts = http.get("/_sandbox/requests").json()["counts"]
    assert counts["POST /texts"] == 2 and counts["GET /call-flows"] == 2
    assert sum(t["body"] == "Over the wire" for t in sb.state["texts"]) == 2  # the dropped POST acted


def test_over_http_faults_before_and_after_the_api_acts(served: tuple[Sandbox, str]) -> None:
    """The phases hold over a socket; a refusal there is a hang-up before any answer, nothing applied."""
    sb, root = served
    group = {"name": "Over the wire"}
    with httpx.Client(base_url=root, timeout=5) as http:
        http.post("/_sandbox/faults", json={"spec": "refuse:method=POST:path=/number-groups:times=1"})
        with pytest.raises(httpx.RemoteProtocolError):
            http.post("/api/v1/number-groups", headers=HEADERS, json=group)
        assert not sb.writes and all(g["name"] != group["name"] for g in sb.state["number_groups"])

        http.post("/_sandbox/faults", json={"spec": "status=500:when=after:method=POST:times=1"})
        assert http.post("/api/v1/number-groups", headers=HEADERS, json=group).status_code == 500
        assert sb.state["number_groups"][-1]["name"] == group["name"]

        http.post("/_sandbox/faults", json={"spec": "timeout=1s:when=after:method=PUT:times=1"})
        renamed = f"/api/v1/number-groups/{sb.state['number_groups'][-1]['id']}"
        with pytest.raises(httpx.ReadTimeout):
            http.put(renamed, headers=HEADERS, json={"name": "Renamed late"}, timeout=0.2)
        assert sb.state["number_groups"][-1]["name"] == "Renamed late"  # applied before the wait

        log = http.get("/_sandbox/requests").json()
    assert log["counts"] == {"POST /number-groups": 1, f"PUT {renamed.removeprefix('/api/v1')}": 1}
    assert log["write_counts"] == log["counts"]


def test_run_server_prints_where_it_listens_and_applies_faults() -> None:
    """As `cs-mcp sandbox --fault status=503:times=1 --fault flow_shape=alternate` starts it."""
    port = free_port()
    faults = ["status=503:times=1", "flow_shape=alternate"]
    code = f"from cs_mcp.sandbox import run_server; run_server(port={port}, faults={faults!r})"
    process = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert f"http://127.0.0.1:{port}/api/v1" in line and SANDBOX_KEYS["viewer"] in line
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", headers=HEADERS, timeout=5) as http:
            deadline = time.monotonic() + 15
            while True:
                try:
                    first = http.get("/numbers")
                    break
                except httpx.ConnectError:
                    assert time.monotonic() < deadline, "run_server did not start listening"
                    time.sleep(0.05)
            assert first.status_code == 503
            assert http.get("/numbers").status_code == 200
            flow_id = http.get("/call-flows").json()["data"]["call_flows"][0]["id"]
            assert set(http.get(f"/call-flows/{flow_id}").json()["data"]) == {"call_flow"}
    finally:
        process.terminate()
        process.wait(timeout=10)
