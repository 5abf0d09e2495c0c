"""Test helpers: bounded waits (never bare sleeps) and builders for executor tests."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from actors.errors import StoreError, ValidationError
from actors.messages import ExecutorEvent, Job, JobDone
from actors.models import Outcome, Task
from actors.testing import eventually

__all__ = ["Creates", "EventLog", "EventRecorder", "eventually", "make_job", "postgres_dsn_or_skip", "private_worker",
           "process_gone", "stop_processes"]

T = TypeVar("T")


def process_gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie counts: it runs nothing); race-free when it
    vanishes between the two looks."""
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def make_job(name: str, *, metadata: dict[str, Any] | None = None, timeout: float | None = None,
             attempt: int = 1, task_id: str | None = None) -> Job:
    """A job for a fresh task named ``name``."""
    task = Task(id=task_id or str(uuid.uuid4()), name=name, metadata=dict(metadata or {}), timeout=timeout)
    return Job(task, f"token-{uuid.uuid4().hex[:8]}", attempt, timeout)


class Creates:
    """An executor's ``Creator`` that records each request and answers ``child-1``, ``child-2``, ...

    A spec whose metadata holds ``"refuse"`` is refused (``ValidationError`` on ``metadata``);
    one holding ``"store_down"`` raises ``StoreError``.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def __call__(self, parent_id: str, spec: dict[str, Any]) -> str:
        metadata = spec.get("metadata") or {}
        if "refuse" in metadata:
            raise ValidationError("metadata", metadata, "rejected by CHILD.validate")
        if "store_down" in metadata:
            raise StoreError("the store is down")
        with self._lock:
            self.calls.append((parent_id, spec))
            return f"child-{len(self.calls)}"


class EventRecorder:
    """An executor's ``on_event`` that keeps every event and lets a test wait for them."""

    def __init__(self) -> None:
        self.events: list[ExecutorEvent] = []
        self._cond = threading.Condition()

    def __call__(self, event: ExecutorEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def snapshot(self) -> list[ExecutorEvent]:
        with self._cond:
            return list(self.events)

    def of(self, task_id: str) -> list[ExecutorEvent]:
        """The events of one task, in arrival order."""
        return [event for event in self.snapshot() if event.task_id == task_id]

    def dones(self) -> list[JobDone]:
        return [event for event in self.snapshot() if isinstance(event, JobDone)]

    def wait_for(self, predicate: Callable[[list[ExecutorEvent]], T], timeout: float = 30.0) -> T:
        """Wait until ``predicate(events)`` is truthy and return it.

        Raises:
            AssertionError: it was not within ``timeout`` seconds (the events are shown).
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate(self.events)
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"not within {timeout}s; events so far: {self.events!r}")
                self._cond.wait(left)

    def outcome(self, job: Job, timeout: float = 30.0) -> Outcome:
        """Wait for the ``JobDone`` of ``job`` and return its outcome."""
        def done(events: list[ExecutorEvent]) -> JobDone | None:
            for event in events:
                if isinstance(event, JobDone) and event.task_id == job.task.id:
                    return event
            return None

        event = self.wait_for(done, timeout)
        assert event is not None
        return event.outcome

    def wait_done(self, count: int, timeout: float = 60.0) -> list[JobDone]:
        """Wait until at least ``count`` jobs ended; return all the ``JobDone`` events."""
        self.wait_for(lambda events: sum(isinstance(e, JobDone) for e in events) >= count, timeout)
        return self.dones()

    def wait_event(self, job: Job, kind: type[Any], timeout: float = 30.0) -> Any:
        """Wait for the first event of type ``kind`` about ``job`` and return it."""
        def found(events: list[ExecutorEvent]) -> Any:
            return next((e for e in events if isinstance(e, kind) and e.task_id == job.task.id), None)

        return self.wait_for(found, timeout)


def private_worker(name: str, execute: Callable[..., Any], **options: Any) -> Any:
    """A ``TaskWorker`` marked ``private=True`` (the field, where this build has it; else a subclass
    that answers ``private`` as True, which is all the HTTP API reads)."""
    import dataclasses

    from actors import TaskWorker

    if "private" in {f.name for f in dataclasses.fields(TaskWorker)}:
        return TaskWorker(name, execute, private=True, **options)

    class Private(TaskWorker):
        private = True

    return Private(name, execute, **options)


def postgres_dsn_or_skip() -> str:
    """The test PostgreSQL DSN (``ACTORS_TEST_POSTGRES_DSN``) once the server answers.

    Skips the calling test when it does not (or psycopg is missing), unless
    ``ACTORS_REQUIRE_POSTGRES=1`` (CI), where that fails the test instead.
    """
    import os

    import pytest

    dsn = os.environ.get("ACTORS_TEST_POSTGRES_DSN", "host=127.0.0.1 port=5432 dbname=test user=postgres")
    required = os.environ.get("ACTORS_REQUIRE_POSTGRES") == "1"
    try:
        import psycopg

        psycopg.connect(dsn, connect_timeout=3).close()
    except Exception as exc:  # any failure means "no server here"
        reason = f"PostgreSQL at {dsn!r} does not answer: {exc}"
        if required:
            pytest.fail(f"{reason} (ACTORS_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    return dsn


def stop_processes(procs: list[Any], timeout: float) -> None:
    """SIGTERM every process still running, wait up to ``timeout`` s for each, then SIGKILL its group."""
    import os
    import signal
    import subprocess

    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


class EventLog:
    """A ``sup.subscribe`` subscriber that keeps every ``actors.Event`` it is given; waits are
    bounded and wake on delivery (no polling)."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self._cond = threading.Condition()

    def __call__(self, event: Any) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def kinds(self, task_id: str | None = None) -> list[str]:
        with self._cond:
            return [e.kind for e in self.events if task_id is None or e.task_id == task_id]

    def wait_for(self, predicate: Callable[[list[Any]], bool], timeout: float = 10.0) -> list[Any]:
        """Wait until ``predicate(events)`` holds; the events. ``TimeoutError`` naming what came."""
        with self._cond:
            if not self._cond.wait_for(lambda: predicate(self.events), timeout):
                raise TimeoutError(f"events so far: {[(e.kind, e.task_id[:8]) for e in self.events]}")
            return list(self.events)

    def wait_kinds(self, task_id: str, *kinds: str, timeout: float = 10.0) -> list[str]:
        """Wait until the task's events include every kind in ``kinds``; its kinds in order."""
        self.wait_for(lambda events: set(kinds) <= {e.kind for e in events if e.task_id == task_id}, timeout)
        return self.kinds(task_id)
