"""actionhero-style tasks on actors: the seed's normal, delayed and periodic tasks, named
queues worked by two nodes with different queue lists, queue inspection, and a failed task
retried.

    python examples/actionhero_queues.py

Two nodes share one SQLite file, as two actionhero servers share one Redis: ``mail`` works
the ``default`` queue (the seed's ``config.tasks.queues``), ``reports`` works ``reports``.
Each node registers the same tasks; its workers say which node ran them.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import actors
from actors.testing import eventually


def tasks_of(node: str, flaky_calls: list[int]) -> list[actors.TaskWorker]:
    """The project's ``./tasks/`` directory: the same definitions on every node."""
    lock = threading.Lock()

    def send_welcome_email(ctx: Any, params: dict[str, Any], task: actors.Task) -> dict[str, str]:
        return {"to": params["to"], "node": node}

    def build_report(ctx: Any, params: dict[str, Any], task: actors.Task) -> dict[str, str]:
        return {"report": params["kind"], "node": node}

    def say_hello(ctx: Any, params: dict[str, Any], task: actors.Task) -> str:
        return f"hello from {node}"

    def charge_card(ctx: Any, params: dict[str, Any], task: actors.Task) -> str:
        with lock:
            flaky_calls.append(1)
            if len(flaky_calls) == 1:
                raise ConnectionError("card processor unreachable")
        return f"charged {params['amount']}"

    def task(name: str, run: Callable[..., Any], queue: str = "default") -> actors.TaskWorker:
        # thread isolation: the worker sees this node's label (process isolation would work the same)
        return actors.TaskWorker(name, run, queue=queue, isolation="thread")

    return [task("sendWelcomeEmail", send_welcome_email), task("buildReport", build_report, "reports"),
            task("sayHello", say_hello), task("chargeCard", charge_card)]


def main() -> None:
    path = os.path.join(tempfile.mkdtemp(prefix="actors-example-"), "tasks.db")
    flaky_calls: list[int] = []
    with actors.Supervisor.start(path, workers=1, thread_workers=2, queues=["default"]) as mail, \
            actors.Supervisor.start(path, workers=1, thread_workers=2, queues=["reports"]) as reports:
        for node, label in ((mail, "mail"), (reports, "reports")):
            for worker in tasks_of(label, flaky_calls):
                node.register_task_worker(worker)

        # normal: api.tasks.enqueue("sendWelcomeEmail", {to: ...}, "default")
        email = mail.create_task("sendWelcomeEmail", metadata={"to": "evan@example.com"}, queue="default")
        report = mail.create_task("buildReport", metadata={"kind": "weekly"})  # the worker's queue: reports
        print(f"normal: {mail.wait(email, timeout=30)}; {mail.wait(report, timeout=30)}")

        # delayed: enqueueIn(ms) and enqueueAt(timestamp)
        soon = mail.create_task("sendWelcomeEmail", metadata={"to": "in@example.com"}, delay=0.2)
        at = mail.create_task("sendWelcomeEmail", metadata={"to": "at@example.com"},
                              run_at=datetime.now(timezone.utc) + timedelta(seconds=0.3))
        later = mail.create_task("sendWelcomeEmail", metadata={"to": "later@example.com"}, delay=3600)
        print(f"delayed: {mail.wait(soon, timeout=30)['to']} and {mail.wait(at, timeout=30)['to']} ran; "
              f"one an hour away is {mail.get_task(later).status}")  # type: ignore[union-attr]

        # periodic: task.frequency (a schedule: one task per fire time, on one node)
        mail.schedule("sayHello", every=0.2)
        eventually(lambda: len(mail.get_tasks(name="sayHello", status="succeeded")) >= 3, timeout=30)
        mail.delete_schedule("sayHello")  # stopRecurrentJob
        eventually(lambda: not mail.get_tasks(name="sayHello", status=["pending", "running"]), timeout=30)
        print(f"periodic: sayHello ran at least 3 times, then its schedule was deleted "
              f"({len(mail.get_schedules())} schedules left)")

        # queue inspection: api.tasks.details, del, delDelayed
        reports.pause_queue("reports")
        queued = [mail.create_task("buildReport", metadata={"kind": f"k{i}"}) for i in range(3)]
        details = {queue.name: queue.counts.get("pending", 0) for queue in mail.get_queues()}
        print(f"details: pending per queue {details}")
        removed = mail.delete_tasks(name="buildReport", status="pending", queue="reports")  # api.tasks.del
        removed_delayed = mail.delete_tasks(name="sendWelcomeEmail", status="pending")  # delDelayed
        reports.resume_queue("reports")
        print(f"del: {removed} of {len(queued)} queued reports removed; delDelayed: {removed_delayed} removed")

        # failed tasks, retried (actionhero's failed queue and retryAndRemoveFailed)
        charge = mail.create_task("chargeCard", metadata={"amount": 42})
        try:
            mail.wait(charge, timeout=30)
        except actors.TaskFailed as failed:
            print(f"failed: {failed.error}")
        print(f"failed queue: {[t.name for t in mail.get_tasks(status='failed')]}; "
              f"retried {mail.retry_tasks(status='failed')}")
        print(f"after retry: {mail.wait(charge, timeout=30)}")

        ran_on = {t.name: t.result["node"] for t in mail.get_tasks(status="succeeded")
                  if isinstance(t.result, dict) and "node" in t.result}
        print(f"nodes: sendWelcomeEmail ran on {ran_on['sendWelcomeEmail']}, buildReport on {ran_on['buildReport']}")


if __name__ == "__main__":
    main()
