"""Nothing hangs: a program that never calls ``stop()``, or raises before it, exits; the pool's
children die with their parent (kill -9 included). Real processes throughout."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import psutil

from actors.storage.sqlite import SQLiteStore
from tests.helpers import eventually, process_gone

from .conftest import run_python, spawn_python

EXIT_BOUND = 20.0  # seconds: the interpreter start, a node start, the atexit stop (5 s at most)

WORKERS = '''
import time
import actors

@actors.worker("SLOW")
def slow(ctx, options, task):
    time.sleep(float(options.get("sleep", 0)))
    return task.id
'''


def _store_counts(db: Path) -> dict[str, int]:
    store = SQLiteStore(str(db))
    try:
        return store.counts()
    finally:
        store.close()


def test_a_program_that_never_calls_stop_exits_and_gives_its_claims_back(tmp_path: Path) -> None:
    (tmp_path / "jobs.py").write_text(WORKERS)
    db = tmp_path / "tasks.db"
    started = time.monotonic()
    done = run_python(f'''
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import actors, jobs
        sup = actors.Supervisor.start({str(db)!r}, workers=1, lease_ttl=30)
        sup.register_task_worker(jobs.slow)
        first = sup.create_task("SLOW", metadata={{"sleep": 0}})
        sup.wait(first, timeout=30)
        for _ in range(5):
            sup.create_task("SLOW", metadata={{"sleep": 30}})
        print("returning without stop()", flush=True)
    ''', timeout=EXIT_BOUND + 10)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < EXIT_BOUND
    counts = _store_counts(db)
    assert counts["succeeded"] == 1 and counts["running"] == 0  # claims went back: nothing waits for a lease
    assert counts["pending"] == 5


def test_a_program_that_raises_before_stop_exits_non_zero(tmp_path: Path) -> None:
    (tmp_path / "jobs.py").write_text(WORKERS)
    started = time.monotonic()
    done = run_python(f'''
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import actors, jobs
        sup = actors.Supervisor.start({str(tmp_path / "tasks.db")!r}, workers=1)
        sup.register_task_worker(jobs.slow)
        sup.create_task("SLOW", metadata={{"sleep": 30}})
        raise RuntimeError("the application failed")
    ''', timeout=EXIT_BOUND + 10)
    assert done.returncode == 1 and "the application failed" in done.stderr
    assert time.monotonic() - started < EXIT_BOUND


def test_a_node_that_stopped_itself_does_not_hang_the_exit(tmp_path: Path) -> None:
    started = time.monotonic()
    done = run_python('''
        import actors
        sup = actors.Supervisor.start("memory://", workers=1, executor="inline", max_restarts=0)
        sup._workers[0].tell(object())  # the worker actor dies; no restart is allowed
        import time
        for _ in range(200):
            try:
                sup.stats()
            except actors.NodeStopped as exc:
                print("stopped:", exc.reason, flush=True)
                break
            time.sleep(0.05)
    ''', timeout=EXIT_BOUND + 10)
    assert done.returncode == 0, done.stderr
    assert "stopped:" in done.stdout
    assert time.monotonic() - started < EXIT_BOUND


def test_the_pool_children_die_with_a_parent_killed_with_sigkill(tmp_path: Path) -> None:
    (tmp_path / "jobs.py").write_text(WORKERS)
    parent = spawn_python(f'''
        import sys, time
        sys.path.insert(0, {str(tmp_path)!r})
        import actors, actors.testing, jobs
        sup = actors.Supervisor.start({str(tmp_path / "tasks.db")!r}, workers=2)
        sup.register_task_worker(jobs.slow)
        for _ in range(4):
            sup.create_task("SLOW", metadata={{"sleep": 60}})
        actors.testing.eventually(lambda: sup.stats()["tasks"]["running"] >= 2, timeout=30)
        print(*sup.worker_pids(), flush=True)
        time.sleep(120)
    ''')
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        pids = [int(pid) for pid in line.split()]
        assert len(pids) == 2, parent.stderr.read() if parent.stderr else line
        family = [child.pid for child in psutil.Process(parent.pid).children(recursive=True)]
        assert set(pids) <= set(family)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        eventually(lambda: all(process_gone(pid) for pid in family), timeout=10)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_the_worker_decorator_is_not_shadowed_by_a_submodule() -> None:
    done = run_python('''
        import actors
        _ = actors.Supervisor
        worker = actors.worker("X")(lambda ctx, options, task: None)
        print(type(worker).__name__, worker.name)
    ''', timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["TaskWorker", "X"]
