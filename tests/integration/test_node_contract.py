"""Contract breaks of issue 11 on a real node: real child processes, a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

import actors
from actors import TaskStatus, TaskWorker

from . import task_functions as fns


def test_the_node_timeout_is_the_default_attempt_timeout(tmp_path: Path) -> None:
    """task > worker > node: under ``timeout=0.3`` a 1 s attempt with no timeout of its own
    (nor of its worker) is killed and fails; one whose task or worker sets more succeeds."""
    with actors.Supervisor.start(str(tmp_path / "t.db"), workers=3, timeout=0.3, kill_grace=0.2) as sup:
        sup.register_task_worker(TaskWorker("SLEEP", fns.sleeper))
        sup.register_task_worker(TaskWorker("PATIENT", fns.sleeper, timeout=5.0))
        by_node = sup.create_task("SLEEP", metadata={"seconds": 1.0}, max_attempts=1)
        by_task = sup.create_task("SLEEP", metadata={"seconds": 1.0}, timeout=5.0)
        by_worker = sup.create_task("PATIENT", metadata={"seconds": 1.0})
        with pytest.raises(actors.TaskFailed, match=r"longer than 0\.3s"):
            sup.wait(by_node, timeout=30)
        assert sup.wait(by_task, timeout=30) == {"slept": True}
        assert sup.wait(by_worker, timeout=30) == {"slept": True}
        failed = sup.get_task(by_node)
        assert failed is not None
        assert (failed.status, failed.timeout) == (TaskStatus.FAILED, None)  # applied, not stored
