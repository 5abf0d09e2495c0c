"""The whole node with real child processes and real SQLite files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import actors
from actors import Retry, TaskStatus, TaskWorker
from actors.testing import eventually
from tests.helpers import process_gone

from . import runtime_tasks as tasks

ROOT = Path(__file__).resolve().parents[2]


def test_tasks_run_in_child_processes_sync_and_async(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("ADD", tasks.add))
    sup.register_task_worker(TaskWorker("ASYNC_ADD", tasks.async_add))
    ids = sup.create_tasks([{"name": "ADD", "metadata": {"a": i, "b": 1}} for i in range(20)])
    async_id = sup.create_task("ASYNC_ADD", metadata={"a": 40, "b": 2})
    assert [sup.wait(task_id, timeout=30) for task_id in ids] == [i + 1 for i in range(20)]
    assert sup.wait(async_id, timeout=30) == 42
    assert sup.worker_pids() and os.getpid() not in sup.worker_pids()


def test_priority_order_with_one_worker(sup: actors.Supervisor, tmp_path: Path) -> None:
    out = tmp_path / "order.txt"
    labels = [("low", "l1"), ("normal", "n1"), ("high", "h1"), ("low", "l2"), ("high", "h2")]
    ids = sup.create_tasks([{"name": "ORDER", "priority": p, "metadata": {"label": lab, "path": str(out)}}
                            for p, lab in labels])
    sup.register_task_worker(TaskWorker("ORDER", tasks.record_order))
    for task_id in ids:
        sup.wait(task_id, timeout=30)
    assert out.read_text().split() == ["h1", "h2", "n1", "l1", "l2"]


def test_child_that_calls_os_exit_is_replaced_and_the_task_retried(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("EXIT", tasks.exit_hard_first))
    first_pids = sup.worker_pids()
    task_id = sup.create_task("EXIT")
    pid = sup.wait(task_id, timeout=30)
    task = sup.get_task(task_id)
    assert task is not None
    assert (task.status, task.attempts, task.crash_count) == (TaskStatus.SUCCEEDED, 2, 1)
    assert pid not in first_pids
    assert process_gone(first_pids[0])


def test_poison_pill_is_quarantined_after_max_crashes(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("POISON", tasks.always_exit))
    task_id = sup.create_task("POISON")
    with pytest.raises(actors.TaskFailed, match="quarantined after 3 crashes"):
        sup.wait(task_id, timeout=60)
    ok = sup.create_task("ADD_AFTER", metadata={"a": 1, "b": 1})
    sup.register_task_worker(TaskWorker("ADD_AFTER", tasks.add))
    assert sup.wait(ok, timeout=30) == 2  # the pool still works


def test_timeout_kills_the_child_and_its_grandchildren(sup: actors.Supervisor, tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    sup.register_task_worker(TaskWorker("SLEEPY", tasks.sleep_with_grandchild, timeout=1.0))
    task_id = sup.create_task("SLEEPY", metadata={"pids": str(pids_file)})
    with pytest.raises(actors.TaskFailed, match="Timeout"):
        sup.wait(task_id, timeout=30)
    child, grandchild = (int(p) for p in pids_file.read_text().split())
    eventually(lambda: process_gone(child) and process_gone(grandchild), timeout=10)
    sup.register_task_worker(TaskWorker("ADD", tasks.add))
    assert sup.wait(sup.create_task("ADD", metadata={"a": 2, "b": 2}), timeout=30) == 4


def test_cancel_a_running_task_aborts_it(sup: actors.Supervisor, tmp_path: Path) -> None:
    started = tmp_path / "started"
    sup.register_task_worker(TaskWorker("HANG", tasks.hang))
    task_id = sup.create_task("HANG", metadata={"started": str(started)})
    eventually(started.exists, timeout=30)
    pid = int(started.read_text())
    assert sup.cancel_task(task_id).status is TaskStatus.CANCELLED
    with pytest.raises(actors.TaskCancelled):
        sup.wait(task_id, timeout=5)
    eventually(lambda: process_gone(pid), timeout=10)
    sup.register_task_worker(TaskWorker("ADD", tasks.add))
    assert sup.wait(sup.create_task("ADD", metadata={"a": 1, "b": 2}), timeout=30) == 3


def test_thread_isolation_sees_in_process_objects(sup: actors.Supervisor) -> None:
    seen: list[str] = []
    sup.register_task_worker(TaskWorker("LOCAL", lambda ctx, options, task: seen.append(task.id) or "ok",
                                        isolation="thread"))
    task_id = sup.create_task("LOCAL")
    assert sup.wait(task_id, timeout=30) == "ok"
    assert seen == [task_id]


def test_recurring_runs_and_delete_stops_them(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("BEAT", tasks.add))
    from datetime import datetime, timezone

    task_id = sup.create_task("BEAT", metadata={"a": 1, "b": 1}, update_interval=0.2,
                              run_at=datetime.now(timezone.utc))
    eventually(lambda: (sup.get_task(task_id) or actors.Task("", "")).attempts >= 3, timeout=30)
    assert sup.delete_task(task_id) is True
    sup.join(timeout=10)
    assert sup.get_task(task_id) is None
    assert sup.stats()["tasks"]["pending"] == 0


def test_restart_keeps_pending_delayed_tasks(db: str) -> None:
    with actors.Supervisor.start(db, workers=0) as client:
        task_id = client.create_task("ADD", metadata={"a": 20, "b": 22}, delay=1.0)
    with actors.Supervisor.start(db, workers=1) as node:
        assert node.get_task(task_id).status is TaskStatus.PENDING  # type: ignore[union-attr]
        node.register_task_worker(TaskWorker("ADD", tasks.add))
        assert node.wait(task_id, timeout=30) == 42


def test_graceful_stop_returns_running_work_to_pending(db: str, tmp_path: Path) -> None:
    started = tmp_path / "started"
    node = actors.Supervisor.start(db, workers=1)
    node.register_task_worker(TaskWorker("HANG", tasks.hang))
    hung = node.create_task("HANG", metadata={"started": str(started)})
    queued = node.create_task("HANG", metadata={"started": str(tmp_path / "never")})
    eventually(started.exists, timeout=30)
    node.stop(timeout=0.5)
    with actors.Supervisor.start(db, workers=0) as client:
        statuses = {t.id: t.status for t in client.get_tasks(name="HANG")}
    assert statuses == {hung: TaskStatus.PENDING, queued: TaskStatus.PENDING}


def test_worker_retry_with_real_processes(sup: actors.Supervisor) -> None:
    sup.register_task_worker(TaskWorker("EXIT", tasks.exit_hard_first, retry=Retry(max_attempts=1)))
    assert sup.wait(sup.create_task("EXIT"), timeout=30)  # a crash is retried whatever the policy


def test_corrupt_database_file_is_a_store_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(actors.StoreError, match=r"garbage\.db"):
        actors.Supervisor.start(str(path), workers=0)


KILL_SCRIPT = textwrap.dedent("""
    import sys, threading
    import actors
    from tests.integration import runtime_tasks
    sup = actors.Supervisor.start(sys.argv[1], workers=1, lease_ttl=1.0)
    sup.register_task_worker(actors.TaskWorker("ONCE", runtime_tasks.once_then_hang))
    print(sup.create_task("ONCE", metadata={"marker": sys.argv[2], "log": sys.argv[3]}), flush=True)
    threading.Event().wait()
""")


def test_kill_9_of_the_whole_node_then_restart_completes_the_task_once(db: str, tmp_path: Path) -> None:
    marker, log = tmp_path / "marker", tmp_path / "log"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, db, str(marker), str(log)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout is not None
        task_id = proc.stdout.readline().strip()
        eventually(marker.exists, timeout=60)
        os.killpg(proc.pid, signal.SIGKILL)  # the supervisor and its child, mid-task
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    with actors.Supervisor.start(db, workers=1, lease_ttl=1.0) as node:
        assert node.get_task(task_id).status is TaskStatus.RUNNING  # type: ignore[union-attr]
        node.register_task_worker(TaskWorker("ONCE", tasks.once_then_hang))
        assert node.wait(task_id, timeout=60) == "done"
        task = node.get_task(task_id)
    assert task is not None
    assert (task.status, task.attempts, task.crash_count) == (TaskStatus.SUCCEEDED, 2, 1)
    assert log.read_text().splitlines() == [f"completed {task_id}"]
