"""``actors tasks list | show | retry | cancel | delete``: look at tasks and act on them.

``list`` takes ``get_tasks``' filters and paging; ``show`` one task's record, its children
and its logs per attempt; ``retry`` / ``cancel`` / ``delete`` act on the ids given or, with
``--all``, on every task matching the filters (the handle's bulk forms), and print how many
changed. An id that names no task, or a task in a state the action refuses, is one line on
stderr and exit 1 (the other ids are still acted on).
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import ActorsError, NodeStopped, StoreError, TaskNotFound
from ..jsonvalues import json_value
from ..models import Task, TaskStatus
from . import _render as render
from ._common import (
    FAILED,
    OK,
    USAGE,
    CommandError,
    add_filters,
    client,
    command,
    filters,
    printed_json,
    read,
    wants_json,
)

if TYPE_CHECKING:
    from ..system import Supervisor

__all__ = ["register"]

#: The longest result / error text a table shows (``show`` and ``--json`` show all of it).
_CELL = 60

#: The tasks a table shows when no ``--limit`` is given.
_PAGE = 100

#: Past tense of each action, for the count line.
_DONE = {"retry": "retried", "cancel": "cancelled", "delete": "deleted"}


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``tasks`` and its subcommands to the ``actors`` parser."""
    tasks = sub.add_parser("tasks", parents=[common], help="list, show, retry, cancel or delete tasks")
    actions = tasks.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = command(actions, "list", common, list_tasks, "tasks matching filters, oldest first")
    add_filters(listing)
    listing.add_argument("--limit", type=int, default=None, metavar="N",
                         help=f"at most N tasks (default: {_PAGE} in a table, all with --json)")
    listing.add_argument("--offset", type=int, default=0, metavar="N", help="skip the first N (default 0)")
    show = command(actions, "show", common, show_task, "one task: record, result or error, attempts, logs")
    show.add_argument("id", help="the task id")
    for action, text in (("retry", "run failed or cancelled tasks again"),
                         ("cancel", "cancel unfinished tasks (running attempts are aborted)"),
                         ("delete", "delete tasks (running ones are cancelled first)")):
        parser = command(actions, action, common, act_on_tasks, text, bulk=action)
        parser.add_argument("ids", nargs="*", metavar="ID", help="task ids")
        parser.add_argument("--all", action="store_true",
                            help="every task matching the filters instead of ids (no filter: every task)")
        add_filters(parser)


def list_tasks(args: argparse.Namespace) -> int:
    limit = args.limit if args.limit is not None or wants_json(args) else _PAGE
    found = read(args, lambda sup: sup.get_tasks(**filters(args), limit=limit, offset=args.offset))
    if printed_json(args, found):
        return OK
    render.table(["id", "name", "status", "queue", "priority", "attempts", "progress", "created", "result / error"],
                 [[t.id, t.name, t.status.value, t.queue or "default", t.priority, t.attempts, _progress(t),
                   render.when(t.created_at), _short(_outcome(t))] for t in found], empty="no tasks")
    if args.limit is None and len(found) == _PAGE:
        render.error(f"(the first {_PAGE} shown: more with --offset {args.offset + _PAGE} or --limit N)")
    return OK


def show_task(args: argparse.Namespace) -> int:
    with client(args) as sup:
        task = sup.get_task(args.id)
        if task is None:
            raise TaskNotFound(args.id)
        logs = sup.logs(task.id)
        children = [child.id for child in sup.get_tasks(parent_id=task.id)]
    if printed_json(args, {"task": task, "children": children, "logs": logs}):
        return OK
    render.key_values([
        ("id", task.id), ("name", task.name), ("description", task.description), ("status", task.status.value),
        ("queue", task.queue or "default"), ("priority", task.priority), ("tags", ", ".join(task.tags)),
        ("metadata", json.dumps(json_value(task.metadata))), ("progress", _progress(task)),
        ("attempts", _attempts(task)), ("result" if task.status is TaskStatus.SUCCEEDED else "error", _outcome(task)),
        ("created", render.when(task.created_at)), ("updated", render.when(task.updated_at)),
        ("run at", render.when(task.run_at)), ("finished", render.when(task.finished_at)),
        ("recurring", "" if task.update_interval is None else f"every {task.update_interval:g}s"),
        ("parent", task.parent_id or ""), ("children", ", ".join(children)),
    ], title=f"Task {task.id}")
    render.line()
    render.table(["attempt", "time", "level", "message"],
                 [[log.attempt, render.when(datetime.fromtimestamp(log.created).astimezone()), log.level, log.message]
                  for log in logs], title="Logs", empty="no logs")
    return OK


def act_on_tasks(args: argparse.Namespace) -> int:
    action: str = args.bulk
    chosen = filters(args)
    if args.ids and (args.all or chosen):
        raise CommandError(f"actors tasks {action}: give task ids or --all with filters, not both", USAGE)
    if not args.ids and not args.all:
        raise CommandError(f"actors tasks {action}: give task ids, or --all (with --status/--name/--queue/--tag)",
                           USAGE)
    with client(args) as sup:
        if args.all:
            count = _bulk(sup, action, chosen)
            report: dict[str, Any] = {"action": action, "count": count, "filters": chosen}
            failures: list[tuple[str, str]] = []
        else:
            changed, failures = _each(sup, action, args.ids)
            report = {"action": action, "count": len(changed), "ids": changed,
                      "errors": [{"id": task_id, "error": text} for task_id, text in failures]}
    if not printed_json(args, report):
        for _, text in failures:
            render.error(f"actors: {text}")
        render.line(f"{_DONE[action]} {report['count']} task(s)")
    return FAILED if failures else OK


def _bulk(sup: Supervisor, action: str, chosen: dict[str, Any]) -> int:
    if action == "retry":
        return sup.retry_tasks(**chosen)
    if action == "cancel":
        return sup.cancel_tasks(**chosen)
    return sup.delete_tasks(**chosen)


def _each(sup: Supervisor, action: str, ids: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Act on each id; returns the ids changed and (id, error) for the others."""
    changed: list[str] = []
    failures: list[tuple[str, str]] = []
    for task_id in ids:
        try:
            if action == "retry":
                sup.retry_task(task_id)
            elif action == "cancel":
                after = sup.cancel_task(task_id)
                if after.status is not TaskStatus.CANCELLED:  # it had finished: cancel_task changes nothing
                    failures.append((task_id, f"task {task_id} is {after.status.value}: nothing to cancel"))
                    continue
            elif not sup.delete_task(task_id):
                raise TaskNotFound(task_id)
        except (StoreError, NodeStopped):
            raise  # the store or the node is gone: no later id can succeed either
        except ActorsError as exc:
            failures.append((task_id, str(exc)))
        else:
            changed.append(task_id)
    return changed, failures


def _outcome(task: Task) -> str:
    if task.status is TaskStatus.SUCCEEDED:
        return repr(task.result)
    return task.error or ""


def _attempts(task: Task) -> str:
    limit = "" if task.max_attempts is None else f" of {task.max_attempts}"
    return f"{task.attempts}{limit} ({task.failure_count} failed, {task.crash_count} crashed)"


def _progress(task: Task) -> str:
    return "" if task.progress is None else f"{task.progress:g}%"


def _short(text: str) -> str:
    return text if len(text) <= _CELL else text[: _CELL - 1] + "…"
