"""The node's moving parts: one concept per module (imports nothing by itself).

- ``handle``: ``Supervisor``, what an application keeps; ``node``: the composition root
  (``Supervisor.start`` builds and wires a node; ``open_store``).
- ``supervisor``: the supervisor actor, a thin shell with a dispatch table over
  ``planner`` (when to claim), ``recorder`` (worker reports → store, keep and retry),
  ``waiters`` (``wait`` / ``join``), ``pool`` (claimed work → workers), ``maintenance``
  (periodic loops), ``operations`` (asked task operations) and ``supervising``
  (failing safe, restarting children, stopping).
- ``children``: the supervisor's children as protocols (``Workers``, ``Waker``) and the
  node's ``Crew`` of ``worker_actor``\\ s; ``scheduler``: the thread that ticks.
- ``health``, ``intensity``: pure bookkeeping of operation failures and restarts.
"""
