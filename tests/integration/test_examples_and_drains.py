"""The examples run, and drain actors keep their promises under load."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import actors
from actors import TaskStatus

ROOT = Path(__file__).resolve().parents[2]


def run_example(name: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "examples" / name), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True)
    return done.stdout


def test_embedding_queue_example_batches_calls() -> None:
    out = run_example("embedding_queue.py")
    assert "embedded 45 texts in 5 model calls [10, 10, 10, 10, 5]" in out


def test_affinity_drains_example_drains_every_key_and_cleans_up() -> None:
    out = run_example("affinity_drains.py")
    for key in ("room-a", "room-b", "room-c"):
        assert f"{key}: 3 drain runs" in out
    assert "after removing every key: 0 drain rows left" in out


def test_webiny_long_task_example_continues_stops_at_max_iterations_validates_and_aborts() -> None:
    out = run_example("webiny_long_task.py")
    assert "exported 40 records in 4 iterations" in out
    assert "logs of iteration 2: ['iteration 2 exported up to 20']" in out
    assert "MaxIterationsExceeded: max_iterations=2 reached" in out
    # the callable schema refused a bad cursor at create, naming the field; nothing was stored
    assert ("schema refused the input: cursor=-5: must be a record index from 0 to 40 (field 'cursor'); "
            "tasks stored: 0") in out
    # the slow export was cancelled mid-run: it ended CANCELLED and its on_abort ran in the child
    assert "slow export: cancelled" in out
    assert "on_abort wrote: ['on_abort: export cancelled in iteration 1 (it started at record 0)']" in out


def test_trigger_tasks_example_fans_out_on_one_worker_and_runs_its_hooks_in_the_child() -> None:
    out = run_example("trigger_tasks.py")
    assert "idempotency key: second trigger returned the first run: True" in out
    assert "onboarded: 3 welcome emails sent (user-1, user-2, user-3)" in out
    assert "attempts per email: [1, 2, 1]" in out  # user-2's first attempt failed and was retried
    assert "children of the parent: 4 (SEND_WELCOME_EMAIL, SUMMARISE)" in out  # none duplicated
    assert "heartbeats run by the schedule: at least 2" in out
    # init -> middleware -> cleanup on every attempt, on_success only on the one that succeeded
    hooks = out.split("hooks of user-2's email:\n")[1].split("charge ")[0].splitlines()
    assert hooks == ["  attempt 1: init: mailer opened for attempt 1",
                     "  attempt 1: middleware: attempt 1 timed",
                     "  attempt 1: cleanup: mailer closed after attempt 1",
                     "  attempt 2: init: mailer opened for attempt 2",
                     "  attempt 2: middleware: attempt 2 timed",
                     "  attempt 2: on_success: welcome email sent to user-2",
                     "  attempt 2: cleanup: mailer closed after attempt 2"], out
    # catch_error refused the retry of a CardDeclined: one attempt of 3, then the worker's own
    # on_failure and the global sup.on("failure") ran, in that order
    assert ("charge failed after 1 of 3 attempts (catch_error refused the retry): "
            "CardDeclined: card 4000-0002 was declined") in out
    assert out.split("hooks of the charge:\n")[1].splitlines() == [
        "  attempt 1: catch_error: CardDeclined is not retried",
        "  attempt 1: on_failure: charge of 4000-0002 failed: card 4000-0002 was declined",
        "  attempt 1: global on failure: CHARGE_CARD failed for good"], out


def test_web_app_example_enqueues_through_a_client_node_and_mounts_the_jobs_api() -> None:
    out = run_example("web_app.py", "--check")
    for line in ("POST /signup bad email: 422 {'field': 'email', 'error': 'must be an email address'}",
                 "GET /signup/{id}: succeeded, result {'sent_to': 'ada@example.com'}",
                 "GET /jobs/api/tasks without the token: 401",
                 "GET /jobs/api/tasks?tag=signup: [('SEND_WELCOME', 'succeeded')]",
                 "GET /jobs/api/tasks/{id}/logs: ['sending the welcome email to ada@example.com']",
                 "POST /jobs/api/tasks: 201; succeeded now: 2",
                 "web app check: ok"):
        assert line in out, out


#: What each seed example prints when it does what it shows (its stdout must hold every line).
SEED_EXAMPLES = {
    "eliza_plugin.py": [
        "validate refused a task: metadata={'sourceUrl': 'ftp://nowhere'}",
        "sync result: {'synced': 120}, progress 100.0",
        "recurring HEALTH_CHECK ran 3 times, then was deleted",
        "pipeline: step 2 in room-7f3a returned 42",
        "tasks in room-7f3a: ['PIPELINE_STEP_1', 'PIPELINE_STEP_2', 'SYNC_EXTERNAL_DATA']",
        "embedding queue: 20 memories embedded, 0 handed back on dispose",
        "affinity drains: 2 rows share BATCHER_DRAIN; answered {'room-a': 4, 'room-b': 4}; 0 rows left",
    ],
    "actionhero_queues.py": [
        "normal: {'to': 'evan@example.com', 'node': 'mail'}; {'report': 'weekly', 'node': 'reports'}",
        "delayed: in@example.com and at@example.com ran; one an hour away is pending",
        "periodic: sayHello ran at least 3 times, then its schedule was deleted (0 schedules left)",
        "details: pending per queue {'default': 1, 'reports': 3}",
        "del: 3 of 3 queued reports removed; delDelayed: 1 removed",
        "failed queue: ['chargeCard']; retried 1",
        "after retry: charged 42",
        "nodes: sendWelcomeEmail ran on mail, buildReport on reports",
    ],
}


@pytest.mark.parametrize("name", sorted(SEED_EXAMPLES))
def test_seed_example_does_what_it_shows(name: str) -> None:
    out = run_example(name)
    assert [line for line in SEED_EXAMPLES[name] if line not in out] == [], out


def test_drain_actors_under_load_lose_no_run_and_never_overlap_a_key(tmp_path: Path) -> None:
    keys = [f"key-{i}" for i in range(5)]
    active: set[str] = set()
    overlaps: list[str] = []
    runs: dict[str, int] = dict.fromkeys(keys, 0)
    lock = threading.Lock()

    def drain_for(key: str):  # type: ignore[no-untyped-def]
        def drain(sup: actors.Supervisor) -> int:
            with lock:
                if key in active:
                    overlaps.append(key)
                active.add(key)
            time.sleep(0.002)  # long enough for a second run of the key to collide
            with lock:
                active.discard(key)
                runs[key] += 1
            return 1

        return drain

    with actors.Supervisor.start(str(tmp_path / "t.db"), workers=1, thread_workers=4) as sup:
        drains = actors.AffinityDrains("BATCHER_DRAIN")
        drains.start(sup)
        for key in keys:
            drains.add(key, drain_for(key), interval=0.05)
        # on top of the recurring rows, 200 one-time runs routed by key, created at once
        ids = sup.create_tasks([{"name": "BATCHER_DRAIN", "metadata": {"affinity_key": keys[i % 5]}}
                                for i in range(200)])
        for task_id in ids:
            sup.wait(task_id, timeout=60)
        statuses = {task.status for task in sup.get_tasks(name="BATCHER_DRAIN") if task.id in set(ids)}
        drains.dispose()
    assert statuses == {TaskStatus.SUCCEEDED}
    assert overlaps == []
    assert all(runs[key] >= 40 for key in keys), runs
