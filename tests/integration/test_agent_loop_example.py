"""``examples/agent_loop.py`` runs: an asyncio agent embedding a node, its thread workers using
the agent's in-process state, its events followed with ``async for``, and its durable step: a
kill -9 of the agent after the step finished does not make the model call run again."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.integration.test_examples_and_drains import ROOT, run_example


def test_the_agent_loop_example_summarizes_remembers_and_follows_its_events() -> None:
    out = run_example("agent_loop.py")
    summaries = "['Actors are small.', 'Supervisors restart what fails.', 'The event loop never waits.']"
    assert f"summaries: {summaries}" in out
    assert f"agent memory: {summaries}" in out  # the thread workers wrote the agent's own list
    assert "events: created x3, started x3, succeeded x3" in out
    assert "model calls: 3" in out  # one step per task


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line.rstrip("\n"))


def wait_for_line(lines: queue.Queue[str], prefix: str, timeout: float = 60) -> str:
    """The first line starting with ``prefix`` the process prints within ``timeout`` seconds."""
    while True:
        line = lines.get(timeout=timeout)  # queue.Empty fails the test: the line never came
        if line.startswith(prefix):
            return line


def test_the_agent_survives_a_kill_9_after_its_step_without_calling_the_model_again(tmp_path: Path) -> None:
    store = tmp_path / "agent.db"
    proc = subprocess.Popen([sys.executable, str(ROOT / "examples" / "agent_loop.py"), "--store", str(store),
                             "--pause-after-step"], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True).start()
    try:
        # (the worker's "step done" may come before the agent's "created task": it runs in a thread)
        task_id = wait_for_line(lines, "step done: ").split()[-1]
        os.killpg(proc.pid, signal.SIGKILL)  # the agent (and its pool child): the task has not ended
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    calls = store.with_suffix(".calls")
    assert len(calls.read_text().splitlines()) == 1  # the step ran its model call once

    out = run_example("agent_loop.py", "--store", str(store))  # the agent again, on the same file
    assert f"resumed task {task_id}: it was running, steps stored ['summary']" in out, out
    assert "result: Supervisors restart what fails." in out
    assert "task succeeded on attempt 2 after 1 crash(es)" in out  # it ran again, after the lost lease
    assert "model calls: 1" in out  # the step's stored value was used: no second model call
    assert len(calls.read_text().splitlines()) == 1
