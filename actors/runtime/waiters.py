"""Who waits on what: ``wait(task_id)`` and ``join()`` bookkeeping of the supervisor.

A waiter is a future resolved from the supervisor's thread: with the task's snapshot
once an attempt settles it (a one-time task finished; a recurring one's next run
ended), with :data:`DELETED` if the task is deleted, with the error that stopped the
node. An idle waiter (``join``) is resolved once the node holds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import TaskCancelled, TaskFailed, TaskNotFound, as_actors_error
from ..models import Task, TaskStatus
from ..storage.base import TaskStore

__all__ = ["DELETED", "Waiters", "result_of"]

#: What a waiter receives when the task it waits on is deleted.
DELETED = "deleted"


def result_of(task_id: str, settled: Task | str | None) -> Any:
    """What ``wait(task_id)`` returns for what its waiter was resolved with: the result.

    Raises:
        TaskNotFound: no such task (None). TaskCancelled: cancelled or :data:`DELETED`.
        TaskFailed: it failed for good, or (recurring) its run failed.
    """
    if settled is None:
        raise TaskNotFound(task_id)
    if isinstance(settled, str) or settled.status is TaskStatus.CANCELLED:
        raise TaskCancelled(task_id)
    if settled.status is TaskStatus.FAILED or (settled.recurring and settled.failure_count > 0):
        raise TaskFailed(task_id, settled.error, settled.attempts)
    return settled.result


@dataclass
class _Waiter:
    future: Any
    attempts: int  # the task's attempts when the wait began (a recurring task settles after more)


class Waiters:
    """The futures waiting on tasks, and on the node being idle."""

    def __init__(self) -> None:
        self._by_task: dict[str, list[_Waiter]] = {}
        self._idle: list[Any] = []

    def __bool__(self) -> bool:
        return bool(self._by_task)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._by_task

    def task_ids(self) -> list[str]:
        return list(self._by_task)

    def watch(self, task_id: str, future: Any, store: TaskStore) -> None:
        """Wait on ``task_id``; resolved at once if it is finished or missing (None)."""
        try:
            task = store.get(task_id)
        except Exception as exc:
            future.set_exception(as_actors_error(exc))
            return
        if task is None or task.status.finished:
            future.set_result(task)
            return
        self._by_task.setdefault(task_id, []).append(_Waiter(future, task.attempts))

    def unwatch(self, task_id: str, future: Any) -> None:
        """Forget a waiter (its wait timed out)."""
        waiters = self._by_task.get(task_id, [])
        self._by_task[task_id] = [w for w in waiters if w.future is not future]

    def settle(self, task_ids: Iterable[str], store: TaskStore) -> None:
        """Resolve the waiters of ``task_ids`` whose task settled (one read of the store).

        Raises:
            Exception: the store's read failed (the waiters stay; settled later).
        """
        wanted = [task_id for task_id in task_ids if self._by_task.get(task_id)]
        if not wanted:
            return
        tasks = store.get_many(wanted)
        for task_id in wanted:
            task = tasks.get(task_id)
            keep = []
            for waiter in self._by_task.pop(task_id, []):
                if task is None:
                    waiter.future.set_result(DELETED)
                elif task.status.finished or (
                    task.recurring and task.status is not TaskStatus.RUNNING
                    and task.attempts > waiter.attempts
                ):
                    waiter.future.set_result(task)
                else:
                    keep.append(waiter)
            if keep:
                self._by_task[task_id] = keep

    def deleted(self, task_id: str) -> None:
        """The task is gone: its waiters get :data:`DELETED`."""
        for waiter in self._by_task.pop(task_id, []):
            waiter.future.set_result(DELETED)

    def when_idle(self, future: Any) -> None:
        """Resolve ``future`` with True at the next :meth:`idle`."""
        self._idle.append(future)

    @property
    def idle_waiting(self) -> bool:
        return bool(self._idle)

    def idle(self) -> None:
        """The node holds nothing: every idle waiter gets True."""
        futures, self._idle = self._idle, []
        for future in futures:
            future.set_result(True)

    def fail_all(self, error: BaseException) -> None:
        """The node stopped: every waiter gets ``error``."""
        for waiters in self._by_task.values():
            for waiter in waiters:
                if not waiter.future.done():
                    waiter.future.set_exception(error)
        self._by_task = {}
        for future in self._idle:
            if not future.done():
                future.set_exception(error)
        self._idle = []
