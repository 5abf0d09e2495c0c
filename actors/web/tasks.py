"""The task routes: list, create, read, delete, the four actions, logs, and the bulk actions.

Every handler is a plain ``def``: the server runs it in its thread pool, so a blocking
``Supervisor`` call never stalls the event loop. Input is checked by ``actors`` (a
``ValidationError`` is answered 422 naming the field, by ``errors``); an unknown id is 404.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query

from ..errors import TaskNotFound, ValidationError
from ..models import Task
from ..storage.base import LogRecord
from .convert import record_json
from .listing import bulk_action, list_tasks
from .schemas import BulkFilter, Count, Created, CreateTask, Deleted

if TYPE_CHECKING:
    from ..system import Supervisor

__all__ = ["DEFAULT_LIMIT", "task_routes"]

#: Tasks ``GET /api/tasks`` answers with when no ``limit`` is given.
DEFAULT_LIMIT = 100


def _one_status(status: list[str] | None) -> str | list[str] | None:
    return status[0] if status is not None and len(status) == 1 else status or None


def task_routes(sup: Supervisor) -> APIRouter:
    """The ``/api/tasks`` routes on ``sup``."""
    router = APIRouter(prefix="/api/tasks", tags=["tasks"])

    @router.get("", response_model=list[Task], summary="List tasks")
    def get_tasks(status: Annotated[list[str] | None, Query(description="a status; repeat for any of several")] = None,
                  name: str | None = None, queue: str | None = None,
                  tag: Annotated[list[str] | None, Query(description="a tag the tasks carry; repeat for all")] = None,
                  parent_id: str | None = None, room_id: str | None = None, world_id: str | None = None,
                  entity_id: str | None = None,
                  limit: Annotated[int, Query(description="most tasks answered")] = DEFAULT_LIMIT,
                  offset: Annotated[int, Query(description="matching tasks skipped first")] = 0,
                  ) -> list[dict[str, Any]]:
        """Tasks matching every given filter, oldest first (newest first when ``status`` names finished
        states only). Private workers' tasks only when ``name`` names them."""
        tasks = list_tasks(sup, status=_one_status(status), name=name, queue=queue, tags=tag, parent_id=parent_id,
                           room_id=room_id, world_id=world_id, entity_id=entity_id, offset=offset, limit=limit)
        return [record_json(task) for task in tasks]

    @router.post("", status_code=201, response_model=Created, summary="Create a task")
    def create_task(body: CreateTask) -> Created:
        """Store a new task (``create_task``); answers its id. A null field takes ``create_task``'s default."""
        fields = {key: value for key, value in body.model_dump(exclude_unset=True).items() if value is not None}
        name = fields.pop("name")
        return Created(id=sup.create_task(name, **fields))

    for action in ("retry", "cancel", "delete"):
        _bulk_route(router, sup, action)

    @router.get("/{task_id}", response_model=Task, summary="Read a task")
    def get_task(task_id: str) -> dict[str, Any]:
        """The task (private workers' too)."""
        return record_json(_existing(sup, task_id))

    @router.delete("/{task_id}", response_model=Deleted, summary="Delete a task")
    def delete_task(task_id: str) -> Deleted:
        """Remove the task (a running one is cancelled first)."""
        if not sup.delete_task(task_id):
            raise TaskNotFound(task_id)
        return Deleted(id=task_id, deleted=True)

    for action in ("cancel", "retry", "pause", "resume"):
        _action_route(router, sup, action)

    @router.get("/{task_id}/logs", response_model=list[LogRecord], summary="A task's log lines")
    def get_logs(task_id: str, iteration: Annotated[int | None, Query(
            description="only the lines of this iteration (1: the first run)")] = None) -> list[dict[str, Any]]:
        """What the task wrote to ``ctx.log``, oldest first; each line carries its attempt (and its
        iteration where the build keeps iterations)."""
        _existing(sup, task_id)
        if iteration is None:
            return [record_json(record) for record in sup.logs(task_id)]
        if "iteration" not in inspect.signature(sup.logs).parameters:
            raise ValidationError("iteration", iteration, "this build keeps no iterations")
        logs: Any = sup.logs
        return [record_json(record) for record in logs(task_id, iteration=iteration)]

    return router


def _existing(sup: Supervisor, task_id: str) -> Any:
    task = sup.get_task(task_id)
    if task is None:
        raise TaskNotFound(task_id)
    return task


_ACTION_DOCS = {
    "cancel": "Cancel the task; a running attempt is aborted.",
    "retry": "Run a FAILED or CANCELLED task again (422 for another state).",
    "pause": "Pause the task (a running one pauses when its attempt ends).",
    "resume": "Resume a PAUSED task (422 for another state).",
}


def _action_route(router: APIRouter, sup: Supervisor, action: str) -> None:
    call = {"cancel": sup.cancel_task, "retry": sup.retry_task, "pause": sup.pause_task,
            "resume": sup.resume_task}[action]

    def act(task_id: str) -> dict[str, Any]:
        return record_json(call(task_id))

    act.__doc__ = _ACTION_DOCS[action] + " Answers the task after."
    router.add_api_route(f"/{{task_id}}/{action}", act, methods=["POST"], response_model=Task,
                         summary=f"{action.capitalize()} a task", name=f"{action}_task")


def _bulk_route(router: APIRouter, sup: Supervisor, action: str) -> None:
    def bulk(body: BulkFilter) -> Count:
        filters = {key: value for key, value in body.model_dump().items() if value is not None}
        return Count(count=bulk_action(sup, action, filters))

    bulk.__doc__ = (f"``{action}_tasks``: {action} every task matching the filters (an empty body ``{{}}``: "
                    f"every task); answers how many changed. Private workers' tasks only when ``name`` names them.")
    router.add_api_route(f"/{action}", bulk, methods=["POST"], response_model=Count,
                         summary=f"{action.capitalize()} every task matching a filter", name=f"{action}_tasks")
