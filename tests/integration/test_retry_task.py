"""``retry_task`` with a real node: SQLite file, the task in a pool child process."""

from __future__ import annotations

from pathlib import Path

import pytest

import actors
from actors import Retry, TaskStatus, TaskWorker

from . import runtime_tasks as tasks


def test_a_failed_task_retried_with_retry_task_runs_again_and_succeeds(tmp_path: Path) -> None:
    marker = tmp_path / "ready"
    with actors.Supervisor.start(str(tmp_path / "tasks.db"), workers=1, lease_ttl=5.0) as sup:
        sup.register_task_worker(TaskWorker("FLAKY", tasks.fails_until_file, retry=Retry(max_attempts=1)))
        task_id = sup.create_task("FLAKY", metadata={"path": str(marker)})
        with pytest.raises(actors.TaskFailed):
            sup.wait(task_id, timeout=30)
        assert sup.get_task(task_id).status is TaskStatus.FAILED  # type: ignore[union-attr]
        assert [t.id for t in sup.get_tasks(status="failed")] == [task_id]
        marker.touch()
        assert sup.retry_task(task_id).status is TaskStatus.PENDING
        assert sup.wait(task_id, timeout=30) == 1  # attempts were reset: this is attempt 1 again
        task = sup.get_task(task_id)
        assert task is not None and (task.status, task.attempts) == (TaskStatus.SUCCEEDED, 1)
