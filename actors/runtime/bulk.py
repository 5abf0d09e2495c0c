"""Inspection and bulk operations of the ``Supervisor`` handle (a mixin it inherits).

``get_tasks`` with its filters and paging, ``retry_task``, and the bulk forms
``retry_tasks`` / ``cancel_tasks`` / ``delete_tasks`` that take ``get_tasks``' filters and
return how many tasks they changed. As every handle method: the input is checked in the
caller's thread (``ValidationError`` naming the field), then one message goes to the
supervisor actor (``actors.runtime.operations`` does the work).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import messages as msgs
from ..errors import ValidationError
from ..models import Task, TaskStatus
from ..requests import task_query
from ..spec import check_task_id

__all__ = ["Inspection"]

#: ``get_tasks``' status filter: one status (or its value), or a list of them.
Statuses = TaskStatus | str | Sequence[TaskStatus | str] | None


class Inspection:
    """``get_tasks``, ``retry_task`` and the bulk operations, for ``Supervisor``."""

    if TYPE_CHECKING:  # provided by Supervisor
        def _ask(self, message: object, *, stopping: bool = False) -> Any: ...

    def get_tasks(self, *, room_id: str | None = None, world_id: str | None = None,
                  entity_id: str | None = None, tags: Sequence[str] | None = None, name: str | None = None,
                  status: Statuses = None, queue: str | None = None, parent_id: str | None = None,
                  offset: int = 0, limit: int | None = None) -> list[Task]:
        """Tasks matching every given filter (``tags``: a task must carry all of them; ``parent_id``:
        the tasks that task created with ``ctx.create_task``), ``offset`` of them skipped, at
        most ``limit``. Oldest first (creation order); newest finished first when ``status``
        names finished states only (``succeeded`` / ``failed`` / ``cancelled``); in run order
        (priority, due time, creation) when it names unfinished states only (``pending`` /
        ``running`` / ``paused``).

        Raises:
            ValidationError: an unknown status, a bad filter, ``offset`` or ``limit`` (named).
        """
        query = task_query(room_id=room_id, world_id=world_id, entity_id=entity_id, tags=tags, name=name,
                           status=status, queue=queue, parent_id=parent_id, offset=offset, limit=limit)
        result: list[Task] = self._ask(msgs.GetTasks(query))
        return result

    def retry_task(self, task_id: str) -> Task:
        """Run a FAILED or CANCELLED task again: PENDING, due now, its attempt, failure and crash
        counts back to 0 (its last error stays until the next attempt ends). Returns it after.

        Raises:
            TaskNotFound: no such task. ValidationError: it is in another state (field ``status``).
        """
        result: Task = self._ask(msgs.RetryTask(check_task_id(task_id)))
        return result

    def retry_tasks(self, **filters: Any) -> int:
        """``retry_task`` every FAILED / CANCELLED task matching ``filters`` (``get_tasks``'
        keywords; others are skipped). Returns how many went back to PENDING."""
        return self._bulk("retry", filters)

    def cancel_tasks(self, **filters: Any) -> int:
        """``cancel_task`` every unfinished task matching ``filters`` (``get_tasks``' keywords;
        running attempts are aborted). Returns how many were cancelled."""
        return self._bulk("cancel", filters)

    def delete_tasks(self, **filters: Any) -> int:
        """``delete_task`` every task matching ``filters`` (``get_tasks``' keywords; a running
        one is cancelled first). Returns how many were deleted."""
        return self._bulk("delete", filters)

    def _bulk(self, action: str, filters: dict[str, Any]) -> int:
        unknown = sorted(set(filters) - _FILTERS, key=repr)
        if unknown:
            raise ValidationError(unknown[0], filters[unknown[0]], "is not a filter of get_tasks")
        return int(self._ask(msgs.BulkTasks(action, task_query(**filters))))


#: ``get_tasks``' keywords: the filters the bulk operations take.
_FILTERS = frozenset({"room_id", "world_id", "entity_id", "tags", "name", "status", "queue", "parent_id",
                      "offset", "limit"})
