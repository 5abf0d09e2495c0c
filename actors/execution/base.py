"""The ``Executor`` protocol: one execution slot (a child process or a thread).

A worker actor owns one executor (its start, aborts and stop); jobs reach it from
the worker actor or, when ``queues_only``, straight from the supervisor. It runs them one
after another and reports what happens through the ``on_event`` callback it was
built with (called from the executor's own thread — the owner turns each event
into a message to itself). Every submitted job ends with exactly one ``JobDone``
— whatever happens: the function returns (``Succeeded``), raises (``Raised``),
outlives its timeout (``TimedOut``: the process tree is killed and the slot
replaced), the process dies (``Crashed``) or the job is aborted (``Cancelled``) —
except the jobs ``stop`` hands back unstarted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from ..messages import ExecutorEvent, Job

__all__ = ["Creator", "EventSink", "Executor", "ExecutorFactory", "StepWriter"]

#: Called once per event. A sink may also offer ``many(events)``: an executor that
#: receives events in batches (the process executor) then hands a batch over at once.
EventSink = Callable[[ExecutorEvent], None]

#: ``ctx.create_task`` of the tasks an executor runs: ``create(parent_id, spec)`` stores the task
#: ``spec`` describes (``create_task``'s keywords plus ``name``; created by ``parent_id``, the
#: running task) and returns its id once it is in the store. It runs the node's create path
#: (field checks, the worker's defaults and ``validate``) in the calling thread, and raises only
#: ``actors.ActorsError`` (``ValidationError``: refused, nothing stored). ``system.py`` builds it
#: and hands it to each executor it builds; never called on the supervisor actor's thread.
Creator = Callable[[str, dict[str, Any]], str]

#: ``ctx.step`` of the tasks an executor runs: ``save(task_id, token, key, value)`` commits the
#: step's JSON value through the store's ``save_step`` (fenced by the attempt's token) and returns
#: once it is durable; raises ``actors.ActorsError`` otherwise (a stale attempt: its lease was lost).
#: Like the ``Creator``: built by the node, run in the calling thread, never the supervisor actor's.
StepWriter = Callable[[str, str, str, Any], None]


class Executor(Protocol):
    """Runs jobs in order on one slot and reports their events.

    ``queues_only`` is True when ``submit`` only queues the jobs (it never runs one in the
    caller's thread nor waits for one, and may be called from any thread): the supervisor
    then hands jobs to the executor from its own thread, without a message to the worker
    actor that owns it. The inline executor runs jobs inside ``submit``: False.
    """

    queues_only: bool

    def submit(self, jobs: Sequence[Job], functions: Mapping[str, Callable[..., Any]]) -> None:
        """Queue ``jobs`` to run in order. ``functions`` maps each job's task name to its
        ``execute`` callable (shipped to a child once per name, again if it changed)."""
        ...

    def abort(self, task_id: str, grace: float) -> bool:
        """Abort a queued or running job: ``ctx.is_aborted()`` turns true at once; a job
        still running after ``grace`` seconds is killed (process isolation). The job
        ends with ``JobDone(Cancelled())``. False when the job is not here."""
        ...

    def stop(self, timeout: float) -> list[Job]:
        """Let the running job finish within ``timeout`` (then kill it: it ends
        ``Crashed``), end the slot, and return the jobs that never started."""
        ...

    @property
    def pid(self) -> int | None:
        """The child process id (None for thread and inline executors)."""
        ...


ExecutorFactory = Callable[[EventSink], Executor]
