"""The `actors` command: the demo, and a worker process serving another process's tasks."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import actors
from actors.testing import eventually

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_the_mixed_workload(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "actors.cli", "demo", "--store", str(tmp_path / "d.db")],
                          cwd=ROOT, capture_output=True, text=True, timeout=180, check=True)
    out = done.stdout
    assert re.search(r"SYNC_FLAKY\s.*\ssucceeded\s+3\s", out)
    assert "Timeout: the attempt ran longer than 1s" in out
    assert "'succeeded': 8, 'failed': 1" in out
    assert "HEARTBEAT ran 3 times" in out


def test_demo_json_is_one_document_of_what_happened(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "actors", "demo", "--json", "--store", str(tmp_path / "d.db")],
                          cwd=ROOT, capture_output=True, text=True, timeout=180, check=True)
    report = json.loads(done.stdout)
    assert report["store"] == str(tmp_path / "d.db") and report["counts"]["succeeded"] == 8
    outcomes = {task["name"]: (task["status"], task["attempts"]) for task in report["tasks"]}
    assert outcomes["SYNC_FLAKY"] == ("succeeded", 3) and outcomes["SLOW"][0] == "failed"


@pytest.mark.parametrize("as_json", [False, True], ids=["table", "json"])
def test_worker_command_serves_tasks_created_by_another_process_and_stops_on_sigterm(tmp_path: Path,
                                                                                   as_json: bool) -> None:
    db = str(tmp_path / "shared.db")
    with actors.Supervisor.start(db, workers=0):
        pass  # create the schema before two processes race for it
    # the JSON form names its store with ACTORS_STORE instead of --store
    args, env = (["--json"], {"ACTORS_STORE": db}) if as_json else (["--store", db], {})
    proc = subprocess.Popen([sys.executable, "-m", "actors.cli", "worker", "tests.integration.cli_workers",
                             "--workers", "1", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT), **env})
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        if as_json:
            started = json.loads(first)
            assert (started["serving"], started["store"], started["queues"]) == (["DOUBLE", "REFUSE", "NOTE"], db, None)
        else:
            assert "serving DOUBLE, REFUSE, NOTE from " + db in first
        with actors.Supervisor.start(db, workers=0) as client:
            ids = client.create_tasks([{"name": "DOUBLE", "metadata": {"x": i}} for i in range(10)])
            assert [client.wait(task_id, timeout=60) for task_id in ids] == [2 * i for i in range(10)]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_worker_command_refuses_a_module_without_workers() -> None:
    done = subprocess.run([sys.executable, "-m", "actors.cli", "worker", "json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "defines no actors.TaskWorker" in done.stderr


def test_eventually_is_bounded() -> None:
    try:
        eventually(lambda: False, timeout=0.05)
    except actors.Timeout as exc:
        assert "False" in str(exc)
    else:
        raise AssertionError("eventually returned for a predicate that never holds")
