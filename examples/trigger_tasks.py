"""Trigger.dev-style tasks on one worker: retries with back-off, a queue with a concurrency limit
and a ``concurrency_key`` per user, ``trigger_and_wait`` / ``batch_trigger_and_wait`` fan-out, an
idempotency key with a TTL, a schedule, and the lifecycle: ``init`` / ``cleanup``, a timing
``middleware``, ``on_success`` / ``on_failure``, a global ``sup.on("failure", ...)`` and a
``catch_error`` that refuses a retry for one error type.

    python examples/trigger_tasks.py

One pool child runs everything (``workers=1``): a parent waiting on its children holds no worker
slot and no queue slot (its attempt ends while it waits, and it runs again once they are done;
the children it triggered the first time are returned again, never duplicated). The hooks run
in that child, with the task's ``ctx``: they write task log lines (``ctx.log``), which the
parent reads back with ``sup.logs(task_id)`` and prints.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

import actors

USERS = ["user-1", "user-2", "user-3"]


# --- hooks and middleware (Trigger.dev: init, cleanup, middleware, onSuccess, onFailure) -------

class Mailer:
    """What ``init`` opens once per attempt; ``execute`` and the hooks see it as ``ctx.init``."""

    def __init__(self, attempt: int) -> None:
        self.attempt = attempt
        self.open = True


def open_mailer(ctx: Any, options: dict[str, Any]) -> Mailer:
    ctx.log.info("init: mailer opened for attempt %d", ctx.attempt)
    return Mailer(ctx.attempt)


def close_mailer(ctx: Any, options: dict[str, Any]) -> None:
    ctx.init.open = False
    ctx.log.info("cleanup: mailer closed after attempt %d", ctx.attempt)


def timing(ctx: Any, options: dict[str, Any], call_next: Any) -> Any:
    """Middleware: wraps ``execute`` (``call_next()`` runs the rest and returns its value)."""
    started = time.perf_counter()
    try:
        return call_next()
    finally:
        ms = (time.perf_counter() - started) * 1000
        ctx.log.info("middleware: attempt %d timed (%.1f ms)", ctx.attempt, ms)


def email_sent(ctx: Any, options: dict[str, Any], result: Any) -> None:
    ctx.log.info("on_success: welcome email sent to %s", result["sent_to"])


class CardDeclined(Exception):
    """The one error ``catch_error`` never retries: charging again will not help."""


def refuse_declined(ctx: Any, options: dict[str, Any], error: BaseException) -> Any:
    """``catch_error``: False fails the task now (no retry); None leaves it to the retry policy."""
    if isinstance(error, CardDeclined):
        ctx.log.info("catch_error: %s is not retried", type(error).__name__)
        return False
    return None


def charge_failed(ctx: Any, options: dict[str, Any], error: BaseException) -> None:
    ctx.log.info("on_failure: charge of %s failed: %s", options["card"], error)


def any_task_failed(ctx: Any, options: Any, error: BaseException) -> None:
    """A global hook (``sup.on("failure", ...)``, Trigger.dev's ``tasks.onFailure``): every worker."""
    ctx.log.info("global on failure: %s failed for good", ctx.task.name)


# --- tasks (Trigger.dev: task({ id, retry, queue, run })) -----------------------------------

@actors.worker("SEND_WELCOME_EMAIL", queue="emails",
               retry=actors.Retry(max_attempts=3, min_delay=0.2, factor=2.0, jitter=False),
               init=open_mailer, cleanup=close_mailer, middleware=[timing], on_success=email_sent)
def send_welcome_email(ctx: Any, options: dict[str, Any], task: actors.Task) -> dict[str, Any]:
    assert ctx.init.open and ctx.init.attempt == ctx.attempt  # init ran first, for this attempt
    if options["user"] == "user-2" and ctx.attempt == 1:
        raise ConnectionError("the mail server hung up")  # retried after 0.2 s, then 0.4 s
    return {"sent_to": options["user"], "attempt": ctx.attempt}


@actors.worker("CHARGE_CARD", retry=actors.Retry(max_attempts=3, min_delay=0.1, jitter=False),
               catch_error=refuse_declined, on_failure=charge_failed)
def charge_card(ctx: Any, options: dict[str, Any], task: actors.Task) -> dict[str, Any]:
    raise CardDeclined(f"card {options['card']} was declined")


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


def main() -> None:
    store = os.path.join(tempfile.mkdtemp(), "tasks.db")
    with actors.Supervisor.start(store, workers=1) as sup:
        for worker in (send_welcome_email, summarise, onboard_users, heartbeat, charge_card):
            sup.register_task_worker(worker)
        sup.on("failure", any_task_failed)  # global: runs after each worker's own on_failure
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

        (user_2,) = [child for child in children if child.metadata.get("user") == "user-2"]
        print("hooks of user-2's email:")
        for record in sup.logs(user_2.id):  # the lines the hooks wrote in the pool child
            print(f"  attempt {record.attempt}: {_untimed(record.message)}")

        charge = sup.create_task("CHARGE_CARD", metadata={"card": "4000-0002"})
        try:
            sup.wait(charge, timeout=60)
        except actors.TaskFailed:
            charged = sup.get_task(charge)
            assert charged is not None
            print(f"charge {charged.status.value} after {charged.attempts} of 3 attempts "
                  f"(catch_error refused the retry): {charged.error}")
        print("hooks of the charge:")
        for record in sup.logs(charge):
            print(f"  attempt {record.attempt}: {_untimed(record.message)}")


def _untimed(message: str) -> str:
    """A log line without its milliseconds (so the printed lines are the same on every run)."""
    return message.split(" (")[0] if message.startswith("middleware:") else message


if __name__ == "__main__":
    main()
