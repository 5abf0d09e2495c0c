"""sqlite-utils serves the SQLite store's schema, migrations and search only: a pool child
never imports it, and a node on an up-to-date file creates, claims and finishes without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import actors
from actors import TaskWorker
from actors.storage.sqlite import SQLiteStore

from . import runtime_tasks as tasks

ROOT = Path(__file__).resolve().parents[2]


def test_a_pool_child_never_imports_sqlite_utils(tmp_path: Path) -> None:
    node = actors.Supervisor.start(str(tmp_path / "tasks.db"), workers=1)
    try:
        node.register_task_worker(TaskWorker("LOADED", tasks.sqlite_utils_loaded))
        task_id = node.create_task("LOADED")
        assert node.wait(task_id, timeout=30) is False
        assert "sqlite_utils" in sys.modules  # this process migrated the fresh file with it
    finally:
        node.stop(timeout=5)


_HOT_PATH = """
import sys
from actors.models import TaskStatus
from actors.spec import TaskSpec, build_task
from actors.storage.base import Finish
from actors.storage.sqlite import SQLiteStore

store = SQLiteStore(sys.argv[1])
store.add([build_task(TaskSpec(name="EMAIL", description="weekly digest"), task_id="t1", now=1.0)])
[claim] = store.claim(["EMAIL"], 1, 2.0, "me", 30.0)
store.finish([Finish("t1", claim.token, TaskStatus.SUCCEEDED)], 3.0)
print("sqlite_utils" in sys.modules, end=" ")
print([task.id for task in store.search("digest")], "sqlite_utils" in sys.modules)
"""


def test_the_hot_path_on_an_up_to_date_file_runs_without_sqlite_utils(tmp_path: Path) -> None:
    path = str(tmp_path / "tasks.db")
    SQLiteStore(path).close()  # created and migrated here
    out = subprocess.run([sys.executable, "-c", _HOT_PATH, path], capture_output=True, text=True,
                         timeout=60, cwd=ROOT, check=True).stdout
    assert out.split() == ["False", "['t1']", "True"]  # loaded by the search only
