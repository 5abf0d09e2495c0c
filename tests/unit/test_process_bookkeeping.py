"""The ProcessExecutor's pure decisions: what becomes of a dead child's jobs, exit texts, options."""

from __future__ import annotations

from typing import Any

import pytest

import actors
from actors import StoreError, ValidationError
from actors.execution.process.bookkeeping import Entry, answer_call, describe_exit, number, settle
from actors.execution.process.child import answered
from actors.messages import JobDone
from actors.models import Cancelled, Crashed, TimedOut
from actors.triggers import Looked
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


class _Calls:
    """A ``TaskCalls`` stand-in: triggers return made-up ids, a look of "down" fails like a store."""

    def trigger(self, parent_id: str, specs: list[dict[str, Any]]) -> list[str]:
        if any(spec.get("metadata") == {"bad": True} for spec in specs):
            raise ValidationError("metadata", {"bad": True}, "refused")
        return [f"{parent_id}-{index}" for index, _ in enumerate(specs)]

    def look(self, task_ids: list[str]) -> list[Looked | None]:
        if "down" in task_ids:
            raise StoreError("the store is down")
        return [Looked(task_id, "succeeded", 1, None, 1, 0.0, None) if task_id != "gone" else None
                for task_id in task_ids]


def test_a_childs_trigger_and_look_requests_are_answered_and_raised_again_in_the_child() -> None:
    replies: list[tuple[Any, ...]] = []
    answer_call(_Calls(), replies.append, "trigger", 7, "p", [{"name": "A"}, {"name": "B"}])
    answer_call(_Calls(), replies.append, "look", 8, ["x", "gone"])
    answer_call(_Calls(), replies.append, "trigger", 9, "p", [{"name": "A", "metadata": {"bad": True}}])
    answer_call(_Calls(), replies.append, "look", 10, ["down"])
    answer_call(None, replies.append, "look", 11, ["x"])
    assert [reply[:2] for reply in replies] == [("created", n) for n in (7, 8, 9, 10, 11)]
    assert answered(replies[0][2]) == ["p-0", "p-1"]
    assert answered(replies[1][2]) == [Looked("x", "succeeded", 1, None, 1, 0.0, None), None]
    with pytest.raises(ValidationError) as refused:
        answered(replies[2][2])
    assert (refused.value.field, refused.value.value) == ("metadata", {"bad": True})
    with pytest.raises(StoreError, match="the store is down"):
        answered(replies[3][2])
    with pytest.raises(actors.ActorsError, match="without TaskCalls"):
        answered(replies[4][2])
