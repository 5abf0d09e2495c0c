"""Trigger.dev-style tasks on one worker: retries with back-off, a queue with a concurrency limit
and a ``concurrency_key`` per user, ``trigger_and_wait`` / ``batch_trigger_and_wait`` fan-out, an
idempotency key with a TTL, and a schedule.

    python examples/trigger_tasks.py

One pool child runs everything (``workers=1``): a parent waiting on its children holds no worker
slot and no queue slot (its attempt ends while it waits, and it runs again once they are done;
the children it triggered the first time are returned again, never duplicated).
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

import actors

USERS = ["user-1", "user-2", "user-3"]


# --- tasks (Trigger.dev: task({ id, retry, queue, run })) -----------------------------------

@actors.worker("SEND_WELCOME_EMAIL", queue="emails",
               retry=actors.Retry(max_attempts=3, min_delay=0.2, factor=2.0, jitter=False))
def send_welcome_email(ctx: Any, options: dict[str, Any], task: actors.Task) -> dict[str, Any]:
    if options["user"] == "user-2" and ctx.attempt == 1:
        raise ConnectionError("the mail server hung up")  # retried after 0.2 s, then 0.4 s
    return {"sent_to": options["user"], "attempt": ctx.attempt}


@actors.worker("SUMMARISE")
def summarise(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
    return f"{len(options['sent'])} welcome emails sent"


@actors.worker("ONBOARD_USERS", queue="onboarding")
def onboard_users(ctx: Any, options: dict[str, Any], task: actors.Task) -> dict[str, Any]:
    # batchTriggerAndWait: one child per user, in the "emails" queue, one at a time per user
    runs = ctx.batch_trigger_and_wait([
        {"name": "SEND_WELCOME_EMAIL", "metadata": {"user": user}, "concurrency_key": user}
        for user in options["users"]
    ])
    sent = [run.output["sent_to"] for run in runs if run.ok]
    # triggerAndWait: the result of one child (a failed child raises actors.TaskFailed here)
    summary = ctx.trigger_and_wait("SUMMARISE", metadata={"sent": sent})
    return {"sent": sent, "summary": summary, "attempts": [run.output["attempt"] for run in runs if run.ok]}


@actors.worker("HEARTBEAT")
def heartbeat(ctx: Any, options: dict[str, Any], task: actors.Task) -> str:
    return "ok"


# --- hooks and middleware ---------------------------------------------------------------------
# PLACEHOLDER (issue 14 part A, built on another branch): Trigger.dev's init / cleanup /
# middleware / onStart / onSuccess / onFailure go here as TaskWorker fields or sup.use / sup.on.
# Not implemented in this example.


def main() -> None:
    store = os.path.join(tempfile.mkdtemp(), "tasks.db")
    with actors.Supervisor.start(store, workers=1) as sup:
        for worker in (send_welcome_email, summarise, onboard_users, heartbeat):
            sup.register_task_worker(worker)
        sup.set_queue("emails", concurrency=2, key_concurrency=1)  # queue({ concurrencyLimit }) + concurrencyKey
        sup.set_queue("onboarding", concurrency=1)  # the waiting parent does not hold this slot

        # idempotencyKey + idempotencyKeyTTL: the second trigger within the hour is the first run
        first = sup.create_task("ONBOARD_USERS", metadata={"users": USERS},
                                idempotency_key="onboard-2026-12-01", idempotency_ttl=3600)
        again = sup.create_task("ONBOARD_USERS", metadata={"users": USERS},
                                idempotency_key="onboard-2026-12-01", idempotency_ttl=3600)
        print(f"idempotency key: second trigger returned the first run: {again == first}")

        # schedules.create({ task, cron }): here every half second
        sup.schedule("HEARTBEAT", every=0.5)

        result = sup.wait(first, timeout=60)
        print(f"onboarded: {result['summary']} ({', '.join(result['sent'])})")
        print(f"attempts per email: {result['attempts']}")
        children = sup.get_tasks(parent_id=first)
        print(f"children of the parent: {len(children)} "
              f"({', '.join(sorted({child.name for child in children}))})")
        deadline = time.monotonic() + 30
        while len(sup.get_tasks(name="HEARTBEAT", status="succeeded")) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        print(f"heartbeats run by the schedule: at least {min(2, len(sup.get_tasks(name='HEARTBEAT')))}")


if __name__ == "__main__":
    main()
