"""The ProcessExecutor's pure decisions: what becomes of a dead child's jobs, exit texts, options."""

from __future__ import annotations

from typing import Any

import pytest

from actors import ValidationError
from actors.execution.process.bookkeeping import Entry, describe_exit, number, settle
from actors.messages import JobDone
from actors.models import Cancelled, Crashed, TimedOut
from tests.helpers import make_job

CRASH = Crashed("the child process (pid 7) exited with code 3", 3)


def entries(*seqs: int) -> list[Entry]:
    return [Entry(seq, make_job(f"J{seq}"), print) for seq in seqs]


def test_the_running_job_crashes_and_the_others_run_again() -> None:
    jobs = entries(4, 5, 6, 7)  # 4 finished (result lost), 5 running, 6 and 7 queued
    reports, rerun = settle(jobs, started=5, finished=4, doomed={}, killed=False, crash=CRASH, exitcode=3)
    assert reports == [JobDone(jobs[1].job.task.id, jobs[1].job.token, CRASH)]
    assert rerun == [jobs[0], jobs[2], jobs[3]]


def test_a_job_killed_on_purpose_gets_its_outcome_and_the_innocent_run_again() -> None:
    jobs = entries(1, 2)
    reports, rerun = settle(jobs, started=1, finished=0, doomed={1: lambda code: TimedOut(0.5)},
                            killed=True, crash=CRASH, exitcode=-15)
    assert [r.outcome for r in reports] == [TimedOut(0.5)] and rerun == [jobs[1]]
    # killed for job 1, which finished just before: job 2 was running, it is innocent
    reports, rerun = settle(jobs, started=2, finished=1, doomed={1: lambda code: TimedOut(0.5)},
                            killed=True, crash=CRASH, exitcode=-15)
    assert [r.outcome for r in reports] == [TimedOut(0.5)] and rerun == [jobs[1]]


def test_cancelled_jobs_end_cancelled_and_a_clean_exit_reruns_the_rest() -> None:
    jobs = entries(3, 4)
    jobs[1].cancelled = True
    reports, rerun = settle(jobs, started=2, finished=2, doomed={}, killed=False, crash=CRASH, exitcode=0)
    assert [(r.task_id, r.outcome) for r in reports] == [(jobs[1].job.task.id, Cancelled())]
    assert rerun == [jobs[0]]


@pytest.mark.parametrize(("code", "text"), [(3, "exited with code 3"), (-9, "was killed by signal SIGKILL"),
                                            (None, "vanished"), (-200, "was killed by signal 200")])
def test_exit_descriptions_name_the_code_or_signal(code: int | None, text: str) -> None:
    assert describe_exit(42, code) == f"the child process (pid 42) {text}"


@pytest.mark.parametrize(("value", "open_min", "ok"), [
    (None, False, True), (0, False, True), (0, True, False), (0.5, True, True), (-1, False, False),
    (True, False, False), ("1", False, False), (float("inf"), False, False),
])
def test_number_options(value: Any, open_min: bool, ok: bool) -> None:
    if ok:
        assert number("opt", value, minimum=0, open_min=open_min) == value
    else:
        with pytest.raises(ValidationError, match="opt"):
            number("opt", value, minimum=0, open_min=open_min)
