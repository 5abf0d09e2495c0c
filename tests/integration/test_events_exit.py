"""A program that subscribes to a node's events and forgets ``stop()`` still exits (the event
and follower threads are daemons; the node's ``atexit`` stop closes the bus)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_program_that_never_stops_its_subscribed_node_exits(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import actors
        sup = actors.Supervisor.start({str(tmp_path / "tasks.db")!r}, workers=1, executor="thread")
        seen = []
        sup.subscribe(seen.append)
        sup.subscribe(lambda event: __import__("time").sleep(3600))   # a subscriber stuck for good
        sup.register_task_worker(actors.TaskWorker("NOOP", lambda ctx, options, task: "ok", isolation="thread"))
        print(sup.wait(sup.create_task("NOOP"), timeout=30))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
