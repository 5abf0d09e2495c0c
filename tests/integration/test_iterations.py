"""Iterations and durable steps with real processes: a step is not repeated after its child
dies with ``os._exit``, and a task that continues survives a kill -9 of its node between two
iterations (the next iteration was committed with the end of the attempt)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import actors
from actors import Retry, TaskStatus, TaskWorker
from actors.testing import eventually

from . import iteration_tasks as tasks

ROOT = Path(__file__).resolve().parents[2]


def test_a_step_is_not_repeated_after_the_child_dies(sup: actors.Supervisor, tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    sup.register_task_worker(TaskWorker("STEP_EXIT", tasks.step_then_exit))
    task_id = sup.create_task("STEP_EXIT", metadata={"calls": str(calls)})
    assert sup.wait(task_id, timeout=60) == {"step": {"calls": 1}, "attempt": 2}
    assert len(calls.read_text().splitlines()) == 1
    task = sup.get_task(task_id)
    assert task is not None
    assert (task.crash_count, task.steps) == (1, {"call": {"calls": 1}})


def test_a_step_in_thread_isolation_is_not_repeated_by_a_retry(sup: actors.Supervisor, tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    sup.register_task_worker(TaskWorker("STEP_THREAD", tasks.step_then_raise, isolation="thread",
                                        retry=Retry(max_attempts=2, min_delay=0.01, jitter=False)))
    task_id = sup.create_task("STEP_THREAD", metadata={"calls": str(calls)})
    assert sup.wait(task_id, timeout=60) == {"step": {"calls": 1}, "attempt": 2}
    assert len(calls.read_text().splitlines()) == 1


NODE_SCRIPT = textwrap.dedent("""
    import json, sys, threading
    import actors
    from tests.integration import iteration_tasks
    sup = actors.Supervisor.start(sys.argv[1], workers=1, lease_ttl=1.0)
    sup.register_task_worker(actors.TaskWorker("WALK", iteration_tasks.walk))
    print(sup.create_task("WALK", metadata=json.loads(sys.argv[2])), flush=True)
    threading.Event().wait()
""")


def test_continue_survives_a_kill_9_of_the_node_between_iterations(db: str, tmp_path: Path) -> None:
    import json

    log, marker = tmp_path / "log", tmp_path / "marker"
    options = {"cursor": 0, "end": 4, "pause_at": 2, "pause": 4.0, "log": str(log), "marker": str(marker)}
    proc = subprocess.Popen([sys.executable, "-c", NODE_SCRIPT, db, json.dumps(options)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout is not None
        task_id = proc.stdout.readline().strip()
        eventually(marker.exists, timeout=60)
        with actors.Supervisor.start(db, workers=0) as client:  # reads the file the node writes
            between = eventually(lambda: (t := client.get_task(task_id)) is not None
                                 and t.status is TaskStatus.PENDING and t.iteration == 3 and t, timeout=30)
            os.killpg(proc.pid, signal.SIGKILL)  # the node and its child, while iteration 3 waits
            proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert (between.attempts, between.metadata["cursor"]) == (0, 2)
    assert log.read_text().splitlines() == ["1 0", "2 1"]
    with actors.Supervisor.start(db, workers=1, lease_ttl=1.0) as node:
        node.register_task_worker(TaskWorker("WALK", tasks.walk))
        assert node.wait(task_id, timeout=60) == {"cursor": 4, "iteration": 5}
        task = node.get_task(task_id)
    assert task is not None
    assert (task.status, task.iteration, task.attempts, task.crash_count) == (TaskStatus.SUCCEEDED, 5, 1, 0)
    assert log.read_text().splitlines() == ["1 0", "2 1", "3 2", "4 3", "5 4"]
