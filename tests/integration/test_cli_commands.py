"""The `actors` command's inspection and control commands, run as real processes on a store
(an SQLite file, a PostgreSQL schema): tables, ``--json``, exit codes, one-line errors.

Each test seeds the store from this process (an inline node running ``cli_workers``), then
runs ``python -m actors ...``; assertions are grouped so a test starts few processes.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import actors
from tests.helpers import eventually, stop_processes
from tests.integration import cli_workers

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, store: str | None = None, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m actors ARGS [--store STORE]``, with ``ACTORS_STORE`` unset unless ``env`` sets it."""
    base = {key: value for key, value in os.environ.items() if key not in ("ACTORS_STORE", "ACTORS_TOKEN")}
    return subprocess.run([sys.executable, "-m", "actors", *args, *(["--store", store] if store else [])],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**base, "PYTHONPATH": str(ROOT), **(env or {})})


def ok_json(*args: str, store: str | None = None, env: dict[str, str] | None = None) -> Any:
    done = cli(*args, "--json", store=store, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def one_line_error(done: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    """The command failed with ``code`` and said so in one line naming ``words``, without a traceback."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert all(word in lines[0] for word in words), lines[0]


@dataclass(frozen=True)
class Seeded:
    """The tasks of a seeded store, by what happened to them."""

    doubled: str  # DOUBLE x=21: succeeded with 42
    refused: str  # REFUSE (queue "mail", tag "urgent"): failed, one attempt
    noted: str  # NOTE: succeeded, two log lines, 50% progress
    waiting: str  # NOBODY (queue "mail"): pending, no worker anywhere


def seed(store: str) -> Seeded:
    """Run three tasks to their end on an inline node, and leave one pending; a schedule and a queue."""
    with actors.Supervisor.start(store, workers=1, executor="inline") as sup:
        for worker in (cli_workers.DOUBLE, cli_workers.REFUSE, cli_workers.NOTE):
            sup.register_task_worker(worker)
        doubled = sup.create_task("DOUBLE", metadata={"x": 21})
        refused = sup.create_task("REFUSE", queue="mail", tags=["urgent"])
        noted = sup.create_task("NOTE")
        waiting = sup.create_task("NOBODY", queue="mail", description="waits")
        assert sup.wait(doubled, timeout=30) == 42 and sup.wait(noted, timeout=30) == "noted"
        with pytest.raises(actors.TaskFailed):
            sup.wait(refused, timeout=30)
        sup.set_queue("mail", concurrency=2, rate_limit="10/m")
        sup.schedule("DOUBLE", every=3600, key="hourly", metadata={"x": 1})
    return Seeded(doubled, refused, noted, waiting)


def test_reading_commands_show_tables_and_json(store_url: str) -> None:
    seeded = seed(store_url)

    listed = cli("tasks", "list", store=store_url)
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()[2:]}
    assert rows[seeded.doubled][1:3] == ["DOUBLE", "succeeded"] and rows[seeded.doubled][-1] == "42"
    assert rows[seeded.refused][1:4] == ["REFUSE", "failed", "mail"]
    assert "RuntimeError: refused always" in listed.stdout
    assert rows[seeded.noted][1:3] == ["NOTE", "succeeded"] and "50%" in rows[seeded.noted]
    assert rows[seeded.waiting][1:4] == ["NOBODY", "pending", "mail"]

    everything = ok_json("tasks", "list", store=store_url)
    assert [task["id"] for task in everything] == [seeded.doubled, seeded.refused, seeded.noted, seeded.waiting]
    assert everything[0]["result"] == 42 and everything[0]["status"] == "succeeded"
    filtered = ok_json("tasks", "list", "--status", "failed,pending", "--queue", "mail", "--tag", "urgent",
                       "--name", "REFUSE", store=store_url)
    assert [(task["id"], task["error"]) for task in filtered] == [(seeded.refused, "RuntimeError: refused always")]
    paged = ok_json("tasks", "list", "--offset", "1", "--limit", "2", store=store_url)
    assert [task["id"] for task in paged] == [seeded.refused, seeded.noted]

    shown = cli("tasks", "show", seeded.noted, store=store_url)
    assert shown.returncode == 0, shown.stderr
    assert f"Task {seeded.noted}" in shown.stdout
    assert "progress      50%" in shown.stdout and "result        'noted'" in shown.stdout
    assert "attempts      1 (0 failed, 0 crashed)" in shown.stdout
    logs = [line.split(maxsplit=4) for line in shown.stdout.split("Logs\n", 1)[1].splitlines()[2:]]
    assert [(log[0], log[3], log[4]) for log in logs] == [("1", "INFO", "first [step] done"),
                                                          ("1", "WARNING", "second step skipped")]
    detail = ok_json("tasks", "show", seeded.refused, store=store_url)
    assert detail["task"]["error"] == "RuntimeError: refused always" and detail["task"]["attempts"] == 1
    assert detail["task"]["tags"] == ["urgent"] and detail["logs"] == [] and detail["children"] == []

    queues = cli("queues", store=store_url)
    assert queues.returncode == 0, queues.stderr
    mail = next(line.split() for line in queues.stdout.splitlines() if line.startswith("mail "))
    assert mail[:5] == ["mail", "no", "2", "-", "10/m"]
    assert {queue["name"]: (queue["concurrency"], queue["rate_limit"], queue["counts"].get("failed"))
            for queue in ok_json("queues", store=store_url)}["mail"] == (2, [10, 60.0], 1)

    # ACTORS_STORE names the store when --store does not
    schedules = cli("schedules", env={"ACTORS_STORE": store_url})
    assert schedules.returncode == 0, schedules.stderr
    assert schedules.stdout.splitlines()[2].split()[:4] == ["hourly", "DOUBLE", "every", "3600s"]
    (schedule,) = ok_json("schedules", env={"ACTORS_STORE": store_url})
    assert (schedule["key"], schedule["name"], schedule["every"], schedule["fields"]["metadata"]) == (
        "hourly", "DOUBLE", 3600.0, {"x": 1})

    stats = cli("stats", store=store_url)
    assert stats.returncode == 0, stats.stderr
    assert stats.stdout.splitlines()[3].split() == ["tasks", "1", "0", "2", "1", "0", "0", "4"]
    assert "health: ok" in stats.stdout
    figures = ok_json("stats", store=store_url)
    assert figures["tasks"]["succeeded"] == 2 and figures["queues"]["mail"]["counts"] == {
        "pending": 1, "running": 0, "succeeded": 0, "failed": 1, "cancelled": 0, "paused": 0}
    assert figures["queues"]["mail"]["paused"] is False and figures["queues"]["mail"]["concurrency"] == 2
    assert figures["workers"]["capacity"] == 0  # the command's node runs nothing


def test_control_commands_change_the_store_and_count(store_url: str) -> None:
    seeded = seed(store_url)
    missing = str(uuid.uuid4())

    retried = cli("tasks", "retry", seeded.refused, store=store_url)
    assert (retried.returncode, retried.stdout.strip()) == (0, "retried 1 task(s)"), retried.stderr
    # one id fine, one in the wrong state, one unknown: the fine one is done, each other is one line, exit 1
    mixed = cli("tasks", "cancel", seeded.waiting, seeded.doubled, missing, "--json", store=store_url)
    assert mixed.returncode == 1, mixed.stderr
    report = json.loads(mixed.stdout)
    assert (report["action"], report["count"], report["ids"]) == ("cancel", 1, [seeded.waiting])
    assert [(error["id"], error["error"]) for error in report["errors"]] == [
        (seeded.doubled, f"task {seeded.doubled} is succeeded: nothing to cancel"),
        (missing, f"no task with id {missing!r}")]

    queue = ok_json("queues", "set", "mail", "--concurrency", "none", "--key-concurrency", "1", "--pause",
                    store=store_url)
    assert (queue["concurrency"], queue["key_concurrency"], queue["rate_limit"], queue["paused"]) == (
        None, 1, [10, 60.0], True)
    resumed = cli("queues", "set", "mail", "--resume", "--rate-limit", "5/s", store=store_url)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.splitlines()[2].split()[:5] == ["mail", "no", "-", "1", "5/s"]

    cancelled = ok_json("tasks", "cancel", "--all", "--status", "pending", "--queue", "mail", store=store_url)
    assert (cancelled["count"], cancelled["filters"]) == (1, {"status": ["pending"], "queue": "mail"})
    again = ok_json("tasks", "retry", "--all", "--status", "cancelled", store=store_url)
    assert again["count"] == 2
    deleted = cli("tasks", "delete", "--all", "--name", "NOTE", store=store_url)
    assert (deleted.returncode, deleted.stdout.strip()) == (0, "deleted 1 task(s)"), deleted.stderr
    gone = cli("tasks", "delete", seeded.doubled, missing, store=store_url)
    assert gone.returncode == 1 and gone.stdout.strip() == "deleted 1 task(s)"
    assert gone.stderr.strip() == f"actors: no task with id {missing!r}"

    with actors.Supervisor.start(store_url, workers=0) as sup:
        states = {task.id: task.status.value for task in sup.get_tasks()}
        assert states == {seeded.refused: "pending", seeded.waiting: "pending"}
        assert [(q.name, q.paused, q.concurrency, q.rate_limit) for q in sup.get_queues() if q.name == "mail"] == [
            ("mail", False, None, (5, 1.0))]


def test_errors_are_one_line_with_an_exit_code_that_says_what_kind(tmp_path: Path) -> None:
    db = str(tmp_path / "tasks.db")
    seed(db)
    one_line_error(cli("tasks", "show", str(uuid.uuid4()), store=db), 1, "no task with id")
    one_line_error(cli("tasks", "list", "--status", "bogus", store=db), 2, "status='bogus'")
    one_line_error(cli("tasks", "list", "--limit", "-1", store=db), 2, "limit")
    one_line_error(cli("tasks", "list", "--limit", "many", store=db), 2, "--limit", "invalid int value")
    one_line_error(cli("queues", "set", "mail", store=db), 2, "nothing to change")
    one_line_error(cli("queues", "set", "mail", "--concurrency", "-3", store=db), 2, "concurrency")
    one_line_error(cli("tasks", "retry", store=db), 2, "give task ids")
    one_line_error(cli("frobnicate"), 2, "invalid choice")
    one_line_error(cli("worker", "no_such_module_here", store=db), 2, "cannot import", "no_such_module_here")
    one_line_error(cli("stats", store=str(tmp_path / "no" / "such" / "dir.db")), 3, "store unreachable")
    one_line_error(cli("stats", store="postgresql://postgres@127.0.0.1:1/nothing"), 3, "store unreachable",
                   "127.0.0.1")


def test_a_table_shows_a_page_and_says_so_while_json_lists_everything(tmp_path: Path) -> None:
    db = str(tmp_path / "tasks.db")
    with actors.Supervisor.start(db, workers=0) as sup:
        ids = sup.create_tasks([{"name": "NOBODY", "metadata": {"i": i}} for i in range(101)])
    table = cli("tasks", "list", store=db)
    assert table.returncode == 0, table.stderr
    assert [line.split()[0] for line in table.stdout.splitlines()[2:]] == ids[:100]
    assert table.stderr.strip() == "(the first 100 shown: more with --offset 100 or --limit N)"
    assert [task["id"] for task in ok_json("tasks", "list", store=db)] == ids


def test_bench_shows_a_progress_bar_and_the_harness_figures(tmp_path: Path) -> None:
    done = cli("bench", "--n", "300", "--workers", "1", "--store", str(tmp_path / "bench.db"),
               env={"ACTORS_STORE": str(tmp_path / "never.db")})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "actors throughput: N=300 W=1 max_batch=64 synchronous=NORMAL"
    assert [line.split(":")[0].strip() for line in lines[1:]] == ["bulk enqueue", "end to end", "dispatch",
                                                                  "verified"]
    assert lines[4].strip() == "verified     : 300/300 succeeded, attempts==1: True, wrong results: 0"
    assert "tasks" in done.stderr and "300/300" in done.stderr and "100%" in done.stderr  # the bar, finished
    assert not (tmp_path / "never.db").exists()  # a benchmark never fills $ACTORS_STORE
    figures = ok_json("bench", "--n", "50", "--workers", "1")
    assert (figures["n"], figures["succeeded"], figures["verified"]) == (50, 50, True)
    assert figures["end_to_end_rate"] > 0 and figures["dispatch"]["mode"] in ("direct", "actor")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_answers_healthz_and_refuses_a_public_bind_without_a_token(tmp_path: Path) -> None:
    pytest.importorskip("actors.web.server", reason="actors.web (branch web) is not merged here yet")
    db = str(tmp_path / "tasks.db")
    seed(db)
    one_line_error(cli("serve", "--host", "0.0.0.0", store=db, timeout=60), 2, "0.0.0.0")
    port = _free_port()
    base = {key: value for key, value in os.environ.items() if key not in ("ACTORS_STORE", "ACTORS_TOKEN")}
    proc = subprocess.Popen([sys.executable, "-m", "actors", "serve", "--store", db, "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            env={**base, "PYTHONPATH": str(ROOT), "ACTORS_TOKEN": "s3cret"})
    try:
        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                    return bool(answer.status == 200)
            except OSError:
                assert proc.poll() is None, proc.communicate()
                return False

        eventually(healthy, timeout=60)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/stats",
                                         headers={"Authorization": "Bearer s3cret"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert json.loads(answer.read())["tasks"]["succeeded"] == 2
    finally:
        stop_processes([proc], timeout=20)
