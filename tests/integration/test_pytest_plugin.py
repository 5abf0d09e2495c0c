"""The pytest plugin as a user gets it: registered by the installed package's entry point, in a
pytest run of its own (a fresh process, outside this project's conftest files)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

USER_TESTS = '''
import pytest
import actors
from actors.testing import advance, assert_enqueued, drain

NODES = []

def test_fixture_is_an_inline_node(supervisor, actors_clock):
    NODES.append(supervisor)
    assert supervisor.clock is actors_clock
    task_id = supervisor.create_task("SEND", metadata={"to": "ada"}, delay=60)
    assert_enqueued(supervisor, name="SEND", metadata={"to": "ada"})
    supervisor.register_task_worker(actors.TaskWorker("SEND", lambda ctx, options, task: options["to"]))
    assert drain(supervisor).runs == 0
    assert advance(supervisor, 60).succeeded == 1
    assert supervisor.get_task(task_id).result == "ada"

def test_the_previous_node_was_stopped():
    with pytest.raises(actors.NodeStopped):
        NODES[0].stats()

@pytest.mark.actors(store="sqlite")
def test_marker_gives_sqlite(supervisor):
    assert type(supervisor.store).__name__ == "SQLiteStore"

def test_failures_reach_the_test(supervisor):
    def boom(ctx, options, task):
        raise RuntimeError("worker broke")
    supervisor.register_task_worker(actors.TaskWorker("BOOM", boom))
    supervisor.create_task("BOOM")
    drain(supervisor)
'''


def test_the_plugin_loads_from_the_entry_point_and_serves_a_users_tests(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    out = done.stdout + done.stderr
    assert "1 failed, 3 passed" in out, out
    assert "TaskFailed" in out and "RuntimeError: worker broke" in out, out
