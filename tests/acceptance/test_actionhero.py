"""actionhero tasks (seed 004): the README's "actionhero" table, the rows that work today."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import actors
from actors.testing import advance, assert_enqueued, assert_not_enqueued, drain, inline_supervisor


def send_welcome_email(ctx: Any, params: dict[str, Any], task: actors.Task) -> str:
    return f"sent to {params['to']}"


def test_enqueue_a_normal_task(supervisor: actors.Supervisor) -> None:
    task_id = supervisor.create_task("sendWelcomeEmail", metadata={"to": "evan@example.com"}, queue="default")
    assert_enqueued(supervisor, name="sendWelcomeEmail", queue="default", metadata={"to": "evan@example.com"})
    supervisor.register_task_worker(actors.TaskWorker("sendWelcomeEmail", send_welcome_email))
    drain(supervisor)
    assert supervisor.get_task(task_id).result == "sent to evan@example.com"  # type: ignore[union-attr]


def test_enqueue_at_and_enqueue_in(supervisor: actors.Supervisor) -> None:
    supervisor.register_task_worker(actors.TaskWorker("sendWelcomeEmail", send_welcome_email))
    now = datetime.fromtimestamp(supervisor.clock.now(), timezone.utc)
    at = supervisor.create_task("sendWelcomeEmail", metadata={"to": "at"}, run_at=now + timedelta(seconds=30))
    in_ = supervisor.create_task("sendWelcomeEmail", metadata={"to": "in"}, delay=10)
    assert drain(supervisor).runs == 0  # allowed to run later, not now
    advance(supervisor, 10)
    assert [supervisor.get_task(t).status.value for t in (in_, at)] == ["succeeded", "pending"]  # type: ignore[union-attr]
    advance(supervisor, 20)
    assert supervisor.get_task(at).status is actors.TaskStatus.SUCCEEDED  # type: ignore[union-attr]


def test_periodic_task(supervisor: actors.Supervisor) -> None:
    supervisor.register_task_worker(actors.TaskWorker("sayHello", lambda ctx, params, task: "hello"))
    supervisor.schedule("sayHello", every=1.0)  # task.frequency = 1000 ms
    assert [advance(supervisor, 1.0).succeeded for _ in range(3)] == [1, 1, 1]


def test_a_task_with_a_frequency_is_periodic(tmp_path: Path) -> None:
    path = str(tmp_path / "tasks.db")
    say_hello = actors.TaskWorker("sayHello", lambda ctx, params, task: "hello", frequency=1.0)  # 1000 ms
    with inline_supervisor(path) as one, inline_supervisor(path) as two:
        one.register_task_worker(say_hello)
        two.register_task_worker(say_hello)  # a second server loading the same task: still one schedule
        assert [(s.key, s.every) for s in one.get_schedules()] == [("sayHello", 1.0)]
        assert [advance(one, 1.0).succeeded for _ in range(3)] == [1, 1, 1]
        assert one.delete_schedule("sayHello") is True
        assert advance(one, 1.0).runs == 0


def test_task_name_and_description(supervisor: actors.Supervisor) -> None:
    supervisor.register_task_worker(actors.TaskWorker("sendWelcomeEmail", send_welcome_email, queue="default",
                                                      description="I will send a new user a welcome email"))
    [listed] = supervisor.workers()
    assert (listed["name"], listed["description"], listed["queue"]) == (
        "sendWelcomeEmail", "I will send a new user a welcome email", "default")


def test_a_task_has_a_default_queue_overridden_at_enqueue(supervisor: actors.Supervisor) -> None:
    supervisor.register_task_worker(actors.TaskWorker("sendWelcomeEmail", send_welcome_email, queue="mail"))
    default = supervisor.create_task("sendWelcomeEmail", metadata={"to": "a"}, delay=60)
    other = supervisor.create_task("sendWelcomeEmail", metadata={"to": "b"}, queue="urgent", delay=60)
    assert [supervisor.get_task(t).queue for t in (default, other)] == ["mail", "urgent"]  # type: ignore[union-attr]


def test_workers_work_the_queues_they_are_given(tmp_path: Path) -> None:
    path = str(tmp_path / "tasks.db")
    with inline_supervisor(path, queues=["default"]) as mail, inline_supervisor(path, queues=["reports"]) as reports:
        for node, label in ((mail, "mail"), (reports, "reports")):
            node.register_task_worker(actors.TaskWorker("work", lambda ctx, params, task, label=label: label))
        on_default = mail.create_task("work", queue="default")
        on_reports = mail.create_task("work", queue="reports")
        drain(mail)
        drain(reports)
        assert [mail.get_task(t).result for t in (on_default, on_reports)] == ["mail", "reports"]  # type: ignore[union-attr]


def test_several_servers_split_the_work(tmp_path: Path) -> None:
    path = str(tmp_path / "tasks.db")
    with inline_supervisor(path) as one, inline_supervisor(path) as two:
        for node, label in ((one, "one"), (two, "two")):
            node.register_task_worker(actors.TaskWorker("work", lambda ctx, params, task, label=label: label))
        ids = one.create_tasks([{"name": "work", "delay": 1} for _ in range(6)])
        one.clock.advance(1)  # type: ignore[attr-defined]
        two.clock.advance(1)  # type: ignore[attr-defined]
        drain(two)
        drain(one)
        tasks = [one.get_task(t) for t in ids]
    assert all(t is not None and t.attempts == 1 and t.result in {"one", "two"} for t in tasks)  # once each


def test_queue_lock_one_instance_per_key(supervisor: actors.Supervisor) -> None:
    first = supervisor.create_task("sendWelcomeEmail", metadata={"to": "a"}, idempotency_key="welcome:a")
    assert supervisor.create_task("sendWelcomeEmail", metadata={"to": "a"}, idempotency_key="welcome:a") == first
    assert_enqueued(supervisor, name="sendWelcomeEmail", count=1)


def test_del_removes_matching_enqueued_tasks(supervisor: actors.Supervisor) -> None:
    for to in ("a", "b"):
        supervisor.create_task("sendWelcomeEmail", metadata={"to": to}, queue="default")
    assert supervisor.delete_tasks(name="sendWelcomeEmail", queue="default", status="pending") == 2
    assert_not_enqueued(supervisor, name="sendWelcomeEmail")


def test_del_delayed(supervisor: actors.Supervisor) -> None:
    supervisor.create_task("sendWelcomeEmail", metadata={"to": "later"}, delay=3600)
    now = supervisor.create_task("sendWelcomeEmail", metadata={"to": "now"})
    delayed = [t.id for t in supervisor.get_tasks(name="sendWelcomeEmail", status="pending") if t.id != now]
    assert sum(supervisor.delete_task(t) for t in delayed) == 1
    assert_enqueued(supervisor, name="sendWelcomeEmail", count=1, metadata={"to": "now"})


def test_enqueue_and_stop_a_recurrent_job(supervisor: actors.Supervisor) -> None:
    supervisor.register_task_worker(actors.TaskWorker("sayHello", lambda ctx, params, task: "hello"))
    supervisor.schedule("sayHello", every=5)
    assert advance(supervisor, 5).succeeded == 1
    assert supervisor.delete_schedule("sayHello") is True
    assert advance(supervisor, 5).runs == 0
    assert supervisor.get_schedules() == []


def test_details_lists_the_queues_and_their_length(supervisor: actors.Supervisor) -> None:
    for queue in ("default", "default", "reports"):
        supervisor.create_task("sendWelcomeEmail", queue=queue)
    counts = {q.name: q.counts.get("pending", 0) for q in supervisor.get_queues()}
    assert (counts["default"], counts["reports"]) == (2, 1)
    assert supervisor.stats()["queues"]["default"]["pending"] == 2


def test_failed_tasks_are_retried(supervisor: actors.Supervisor) -> None:
    calls: list[int] = []

    def flaky(ctx: Any, params: dict[str, Any], task: actors.Task) -> str:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("smtp down")
        return "sent"

    supervisor.register_task_worker(actors.TaskWorker("sendWelcomeEmail", flaky))
    task_id = supervisor.create_task("sendWelcomeEmail")
    assert [t.id for t in drain(supervisor, fail_fast=False).failed] == [task_id]
    assert supervisor.retry_tasks(status="failed") == 1
    drain(supervisor)
    assert supervisor.get_task(task_id).result == "sent"  # type: ignore[union-attr]


def test_a_task_past_its_timeout_is_stopped(tmp_path: Path) -> None:
    def stuck(ctx: Any, params: dict[str, Any], task: actors.Task) -> None:
        import time

        time.sleep(60)

    with actors.Supervisor.start(str(tmp_path / "tasks.db"), workers=1, kill_grace=0.2) as node:
        node.register_task_worker(actors.TaskWorker("stuck", stuck, timeout=0.5))
        task_id = node.create_task("stuck")
        with pytest.raises(actors.TaskFailed, match=r"ran longer than 0\.5s and was killed"):
            node.wait(task_id, timeout=30)


def test_tasks_run_first_in_first_out(supervisor: actors.Supervisor) -> None:
    order: list[int] = []
    supervisor.create_tasks([{"name": "work", "metadata": {"n": n}} for n in range(5)])
    supervisor.register_task_worker(actors.TaskWorker("work", lambda ctx, params, task: order.append(params["n"])))
    drain(supervisor)
    assert order == [0, 1, 2, 3, 4]
