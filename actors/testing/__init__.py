"""Test helpers for code that uses actors, and for actors itself.

The real machinery runs (store, supervisor, worker actors); tasks run inline in the
worker actor's thread and time is a :class:`ManualClock` that moves only when the test
moves it. Waiting is always bounded.

- ``inline_supervisor(store="memory://", ...)``: such a node (the pytest plugin's
  ``supervisor`` fixture is one, stopped after the test).
- ``drain(sup, fail_fast=True)``: run everything due, re-raise the first failure as
  ``actors.TaskFailed`` carrying the task's error text; returns a :class:`Drained`.
- ``advance(sup, seconds)``: move the clock, then ``drain`` what came due.
- ``assert_enqueued(sup, name=..., metadata=..., **filters)`` / ``assert_not_enqueued``.
- ``eventually(predicate)``: a bounded wait for tests that watch another process.

Example:
    >>> import actors
    >>> from actors.testing import advance, assert_enqueued, drain, inline_supervisor
    >>> with inline_supervisor() as sup:
    ...     _ = sup.register_task_worker(actors.TaskWorker("GREET", lambda ctx, options, task: "hi " + options["to"]))
    ...     task_id = sup.create_task("GREET", metadata={"to": "ada"}, delay=60)
    ...     _ = assert_enqueued(sup, name="GREET", metadata={"to": "ada"})
    ...     drain(sup).runs                    # not due yet: nothing runs
    ...     advance(sup, 60).succeeded         # due now: it runs
    ...     sup.get_task(task_id).result
    0
    1
    'hi ada'
"""

from __future__ import annotations

from ..clock import ManualClock
from .assertions import assert_enqueued, assert_not_enqueued, enqueued
from .nodes import inline_supervisor, store_for
from .running import Drained, advance, drain
from .waiting import eventually

__all__ = ["Drained", "ManualClock", "advance", "assert_enqueued", "assert_not_enqueued", "drain", "enqueued",
           "eventually", "inline_supervisor", "store_for"]
