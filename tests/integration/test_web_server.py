"""The HTTP API on real sockets: ``actors.web.server.run`` in its own process (``/healthz``, the
token, SIGTERM), and the SSE stream of a node served by uvicorn (a created task's events arrive)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

import actors
from actors import TaskWorker
from actors.testing import eventually
from actors.web import create_app
from actors.web.server import run
from tests.helpers import private_worker

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "integration-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def answers(url: str, **options: Any) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=2, **options)
    except httpx.TransportError:
        return None


def serve(store: str, port: int, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    code = ("import sys; from actors.web.server import run; "
            f"sys.exit(run({store!r}, port={port}{''.join(', ' + e for e in extra)}))")
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})


def test_run_serves_healthz_and_the_api_behind_the_token_and_stops_on_sigterm(store_url: str) -> None:
    store, port = store_url, free_port()
    proc = serve(store, port, env={"ACTORS_TOKEN": TOKEN})
    try:
        base = f"http://127.0.0.1:{port}"
        health = eventually(lambda: answers(f"{base}/healthz"), timeout=60)
        assert health.status_code == 200 and health.json()["ok"] is True
        assert httpx.get(f"{base}/api/tasks").status_code == 401
        headers = {"Authorization": f"Bearer {TOKEN}"}
        created = httpx.post(f"{base}/api/tasks", json={"name": "SERVED"}, headers=headers)
        assert created.status_code == 201
        with actors.Supervisor.start(store, workers=0) as other:  # the same store, another process
            task = other.get_task(created.json()["id"])
            assert task is not None and task.status is actors.TaskStatus.PENDING  # a serve node runs nothing
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_run_answers_1_when_the_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = serve(str(tmp_path / "taken.db"), port)
        try:
            assert proc.wait(timeout=60) == 1
        finally:
            if proc.poll() is None:
                proc.kill()


def test_run_refuses_a_non_loopback_host_without_a_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACTORS_TOKEN", raising=False)
    with pytest.raises(actors.ValidationError) as caught:
        run(str(tmp_path / "never.db"), host="0.0.0.0", port=free_port())
    assert caught.value.field == "host" and "without a token" in str(caught.value)
    assert not (tmp_path / "never.db").exists()  # refused before anything was opened


class Served:
    """``create_app(sup)`` behind uvicorn in a thread, on a free loopback port."""

    def __init__(self, sup: actors.Supervisor, token: str | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(sup, token=token), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        eventually(lambda: self.server.started, timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def node() -> Iterator[actors.Supervisor]:
    with actors.Supervisor.start("memory://", workers=1) as sup:
        sup.register_task_worker(TaskWorker("DOUBLE", double, isolation="thread"))
        yield sup


def double(ctx: Any, options: dict[str, Any], task: actors.Task) -> int:
    return int(options["x"]) * 2


def events_of(lines: Iterator[str], task_id: str, last: str) -> list[dict[str, Any]]:
    """The stream's events of ``task_id`` up to the first of kind ``last``."""
    seen = []
    for line in lines:
        if line.startswith("data: "):
            event = json.loads(line[len("data: "):])
            if event["task_id"] == task_id:
                seen.append(event)
                if event["kind"] == last:
                    return seen
    raise AssertionError(f"the stream ended; events so far: {seen}")


def test_a_created_task_s_events_arrive_on_the_stream(node: actors.Supervisor) -> None:
    with Served(node, token=TOKEN) as served, httpx.Client(base_url=served.base, timeout=30) as client:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with client.stream("GET", "/api/events", headers=headers) as stream:
            assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            assert next(lines) == ": connected"  # subscribed from here on
            task_id = client.post("/api/tasks", json={"name": "DOUBLE", "metadata": {"x": 21}},
                                  headers=headers).json()["id"]
            events = events_of(lines, task_id, "succeeded")
        assert [event["kind"] for event in events] == ["created", "started", "succeeded"]
        assert events[-1]["data"]["result"] == 42 and events[0]["name"] == "DOUBLE"
        assert events[0]["queue"] == "default" and events[0]["at"].endswith("+00:00")


def test_the_stream_filters_by_kind_and_takes_the_token_in_the_query(node: actors.Supervisor) -> None:
    with Served(node, token=TOKEN) as served, httpx.Client(base_url=served.base, timeout=30) as client:
        assert client.get("/api/events").status_code == 401
        bad = client.get(f"/api/events?token={TOKEN}&events=exploded")
        assert bad.status_code == 422 and bad.json()["field"] == "events"
        with client.stream("GET", f"/api/events?token={TOKEN}&events=succeeded") as stream:
            lines = stream.iter_lines()
            assert next(lines) == ": connected"
            task_id = node.create_task("DOUBLE", metadata={"x": 1})
            assert [event["kind"] for event in events_of(lines, task_id, "succeeded")] == ["succeeded"]


def test_a_gone_client_is_unsubscribed(node: actors.Supervisor) -> None:
    with Served(node) as served, httpx.Client(base_url=served.base, timeout=30) as client:
        def streams() -> float:
            line = next(line for line in client.get("/metrics").text.splitlines()
                        if line.startswith("actors_sse_streams "))
            return float(line.split()[1])

        assert streams() == 0
        with client.stream("GET", "/api/events") as stream:
            lines = stream.iter_lines()  # (kept: a dropped iterator closes the response)
            assert next(lines) == ": connected"
            assert streams() == 1  # subscribed before the first line was sent
        eventually(lambda: streams() == 0, timeout=20)


def test_the_stream_leaves_private_workers_tasks_out_unless_named(node: actors.Supervisor) -> None:
    node.register_task_worker(private_worker("SECRET", double, isolation="thread"))
    with Served(node) as served, httpx.Client(base_url=served.base, timeout=30) as client, \
            client.stream("GET", "/api/events?events=succeeded") as everything, \
            client.stream("GET", "/api/events?events=succeeded&name=SECRET") as named:
        all_lines, named_lines = everything.iter_lines(), named.iter_lines()
        assert next(all_lines) == next(named_lines) == ": connected"
        secret = node.create_task("SECRET", metadata={"x": 1})
        node.wait(secret, timeout=30)
        shown = node.create_task("DOUBLE", metadata={"x": 2})
        first = json.loads(next(line for line in all_lines if line.startswith("data: "))[len("data: "):])
        assert first["task_id"] == shown  # the private task's event, recorded first, was left out
        assert [e["task_id"] for e in events_of(named_lines, secret, "succeeded")] == [secret]
