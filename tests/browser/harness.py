"""The dashboard in a real headless Chromium: a real node (SQLite file, process workers) whose
``actors.web.create_app`` is served by uvicorn on a free port in a thread, and a Playwright page.

Chromium is Debian's (``/usr/bin/chromium``, or ``ACTORS_CHROMIUM``), driven by the Python
``playwright`` package with ``executable_path`` (no ``playwright install`` download). Without a
browser the tests skip, saying why, unless ``ACTORS_REQUIRE_BROWSER=1`` (CI), where that fails
them instead. Screenshots go to ``tmp_path``, or to ``docs/images`` with ``ACTORS_SCREENSHOTS=1``
(how the README's pictures are made).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

import actors
from actors import Retry, TaskWorker
from tests.helpers import eventually
from tests.integration import runtime_tasks, task_functions

__all__ = ["TOKEN", "Served", "chromium_path", "missing", "open_dashboard", "screenshot", "serve"]

TOKEN = "dash-test-token"
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


def missing(reason: str) -> NoReturn:
    """Skip the test for ``reason`` (a missing browser), or fail it under ``ACTORS_REQUIRE_BROWSER=1``."""
    if os.environ.get("ACTORS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (ACTORS_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


def chromium_path() -> str:
    """Debian's chromium (or ``ACTORS_CHROMIUM``); skips or fails (CI) when it is missing."""
    path = os.environ.get("ACTORS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.access(path, os.X_OK):
        missing(f"no Chromium at {path!r}: apt-get install -y chromium (or set ACTORS_CHROMIUM)")
    return path


@dataclass
class Served:
    """A node and the dashboard's address."""

    sup: actors.Supervisor
    url: str
    tmp_path: Path

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the HTTP API with the token (the way a script would); the decoded JSON."""
        import httpx

        response = httpx.request(method, self.url + path, headers={"Authorization": f"Bearer {TOKEN}"},
                                 timeout=10.0, **kwargs)
        response.raise_for_status()
        return response.json()

    def wait_status(self, task_id: str, status: str, timeout: float = 30.0) -> actors.Task:
        """Wait until the task is in ``status`` (its value: ``"failed"``, ...)."""
        def seen() -> actors.Task | None:
            task = self.sup.get_task(task_id)
            return task if task is not None and task.status.value == status else None

        task: actors.Task = eventually(seen, timeout=timeout)
        return task


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


@contextmanager
def serve(tmp_path: Path, token: str | None = TOKEN, prefix: str = "") -> Iterator[Served]:
    """A node on an SQLite file with two process workers, its app (``token``) served by uvicorn
    in a thread on a free port (mounted at ``prefix`` in an outer FastAPI app when given).

    Workers: ``ECHO`` and ``CHILD`` (succeed), ``BOOM`` (fails, no retry), ``FLAKY`` (fails until
    ``metadata["path"]`` exists, no retry), ``CHATTY`` (progress, a log line, a ``CHILD``),
    ``WAIT`` (runs until cancelled)."""
    import uvicorn

    from actors.web import create_app

    sup = actors.Supervisor.start(str(tmp_path / "tasks.db"), workers=2, lease_ttl=10.0)
    once = Retry(max_attempts=1)
    for worker in (TaskWorker("ECHO", task_functions.echo), TaskWorker("CHILD", task_functions.echo),
                   TaskWorker("BOOM", task_functions.boom, retry=once),
                   TaskWorker("FLAKY", runtime_tasks.fails_until_file, retry=once),
                   TaskWorker("CHATTY", task_functions.chatty),
                   TaskWorker("WAIT", task_functions.cooperative)):
        sup.register_task_worker(worker)
    app: Any = create_app(sup, token=token)
    if prefix:
        from fastapi import FastAPI

        outer = FastAPI()
        outer.mount(prefix, app)
        app = outer
    sock = _free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="dash-uvicorn", daemon=True)
    thread.start()
    try:
        eventually(lambda: server.started, timeout=30)
        yield Served(sup, f"http://127.0.0.1:{sock.getsockname()[1]}{prefix}", tmp_path)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        sup.stop(timeout=10)


def open_dashboard(page: Any, served: Served, path: str = "/") -> None:
    """Open the dashboard with ``?token=`` in the address and wait for the live stream."""
    from playwright.sync_api import expect

    base, _, fragment = path.partition("#")
    sep = "&" if "?" in base else "?"
    page.goto(f"{served.url}{base}{sep}token={TOKEN}" + (f"#{fragment}" if fragment else ""))
    expect(page.locator("#live")).to_have_text("live")


def screenshot(page: Any, served: Served, name: str) -> Path:
    """Save a full-page screenshot as ``name`` (in ``docs/images`` with ``ACTORS_SCREENSHOTS=1``)."""
    folder = DOCS_IMAGES if os.environ.get("ACTORS_SCREENSHOTS") == "1" else served.tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    page.screenshot(path=str(path), full_page=True)
    return path
