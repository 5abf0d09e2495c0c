"""Under a saturating one-by-one producer the dispatch's batches grow by themselves, in both forms."""

from __future__ import annotations

from pathlib import Path

import pytest

import actors
from actors import TaskWorker

from . import task_functions as tasks

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("dispatch", ["direct", "actor"])
def test_batches_grow_when_the_producer_outruns_the_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            dispatch: str) -> None:
    monkeypatch.setenv("ACTORS_DISPATCH", dispatch)
    with actors.Supervisor.start(str(tmp_path / "tasks.db"), workers=1, thread_workers=0, max_batch=16) as sup:
        sup.register_task_worker(TaskWorker("SLEEP", tasks.sleeper))
        ids = [sup.create_task("SLEEP", metadata={"seconds": 0.004}) for _ in range(150)]  # one by one
        sup.join(timeout=60)
        stats = sup.stats()
        done = sup.get_tasks(name="SLEEP", status="succeeded")
    assert {task.id for task in done} == set(ids)
    hops = stats["dispatch"]["hops"]
    assert stats["dispatch"]["mode"] == dispatch
    # 150 creates, each faster than a 4 ms task: the work gathers in the store and in the pool
    assert hops["claims"]["average"] >= 1.5, hops  # (1.0: a claim and a message per task)
    assert hops["handouts"]["average"] >= 3, hops
    assert hops["flushes"]["items"] == 150


def test_a_bad_dispatch_setting_is_refused_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTORS_DISPATCH", "queue")
    with pytest.raises(actors.ValidationError, match="ACTORS_DISPATCH"):
        actors.Supervisor.start(str(tmp_path / "tasks.db"), workers=1)
    assert not (tmp_path / "tasks.db").exists()
