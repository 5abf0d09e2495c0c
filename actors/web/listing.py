"""What the listings show: ``get_tasks`` and the bulk actions, with the tasks of private
workers (``TaskWorker(private=True)``) left out unless the caller names them (``name=``).

Privacy is the worker's (registered on the node the app serves): a task whose name is a
private worker's is hidden from ``GET /api/tasks``, from the bulk actions and from the event
stream, unless the request filters by that very name; ``GET /api/tasks/{id}`` always answers.
Pages stay exact: with private workers registered, rows are read past the hidden ones until
``offset`` + ``limit`` visible tasks are found.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import TaskNotFound, ValidationError
from ..models import Task, TaskStatus
from ..requests import task_query

if TYPE_CHECKING:
    from ..system import Supervisor

__all__ = ["bulk_action", "describe_workers", "is_private", "list_tasks", "private_names", "registered_names"]

#: Rows read per step while skipping hidden tasks.
CHUNK = 200


def is_private(sup: Supervisor, name: str) -> bool:
    """True when the worker registered here under ``name`` is private."""
    return bool(getattr(sup.get_task_worker(name), "private", False))


def registered_names(sup: Supervisor) -> list[str]:
    """The names of the workers registered on the node, sorted."""
    listed = getattr(sup, "workers", None)  # Supervisor.workers() where this build has it
    if callable(listed):
        return sorted(str(worker["name"]) for worker in listed())
    return sorted(str(name) for name in sup.stats().get("workers", {}).get("registered", []))


def private_names(sup: Supervisor) -> frozenset[str]:
    """The names of the private workers registered on the node."""
    return frozenset(name for name in registered_names(sup) if is_private(sup, name))


def describe_workers(sup: Supervisor, name: str | None = None) -> list[dict[str, Any]]:
    """The registered workers' definitions (name, title, description, private, queue, isolation,
    frequency, cron), the private ones left out unless ``name`` names one (then only it)."""
    described = []
    for each in registered_names(sup) if name is None else [name]:
        worker = sup.get_task_worker(each)
        if worker is None or (name is None and is_private(sup, each)):
            continue
        describe = getattr(worker, "describe", None)
        fields = ("name", "title", "description", "private", "queue", "isolation", "frequency", "cron")
        described.append(describe() if callable(describe) else {key: getattr(worker, key, None) for key in fields})
    return described


def list_tasks(sup: Supervisor, *, offset: int = 0, limit: int | None = None, **filters: Any) -> list[Task]:
    """``sup.get_tasks(**filters, offset=, limit=)`` without the private workers' tasks (unless
    ``filters["name"]`` names one)."""
    hidden = frozenset() if filters.get("name") is not None else private_names(sup)
    if not hidden:
        return sup.get_tasks(offset=offset, limit=limit, **filters)
    task_query(offset=offset, limit=limit, **filters)  # refused here as get_tasks would (named)
    visible: list[Task] = []
    skipped = read = 0
    while True:
        page = sup.get_tasks(offset=read, limit=CHUNK, **filters)
        read += len(page)
        for task in page:
            if task.name in hidden:
                continue
            if skipped < offset:
                skipped += 1
                continue
            visible.append(task)
            if limit is not None and len(visible) >= limit:
                return visible
        if len(page) < CHUNK:
            return visible


def _takes(action: str, task: Task) -> bool:
    """Whether bulk ``action`` changes ``task`` (the others it skips, as the ``Supervisor`` does)."""
    if action == "retry":
        return task.status in (TaskStatus.FAILED, TaskStatus.CANCELLED)
    return action == "delete" or not task.status.finished


def bulk_action(sup: Supervisor, action: str, filters: dict[str, Any]) -> int:
    """``sup.retry_tasks`` / ``cancel_tasks`` / ``delete_tasks`` (``action``) on the visible tasks
    matching ``filters``; how many changed."""
    if filters.get("name") is not None or not private_names(sup):
        count: int = getattr(sup, f"{action}_tasks")(**filters)
        return count
    one: Callable[[str], object] = {"retry": sup.retry_task, "cancel": sup.cancel_task,
                                    "delete": sup.delete_task}[action]
    changed = 0
    for task in list_tasks(sup, **filters):
        if not _takes(action, task):
            continue
        try:
            outcome = one(task.id)
        except (TaskNotFound, ValidationError):  # gone or moved on meanwhile: not changed
            continue
        changed += 1 if outcome is not False else 0
    return changed
