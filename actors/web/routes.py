"""The other JSON routes: queues, workers, schedules, stats, and ``/healthz`` (the one route without auth).

Plain ``def`` handlers (run in the server's thread pool: a blocking ``Supervisor`` call never
stalls the event loop).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ..errors import ActorsError
from ..models import Schedule
from .convert import json_value, record_json
from .listing import describe_workers
from .schemas import QueueChanges, QueueOut, WorkerOut

if TYPE_CHECKING:
    from ..system import Supervisor

__all__ = ["Health", "health_route", "node_routes"]


class Health(BaseModel):
    """``/healthz``: ``ok`` is the node's health (every loop and store operation working)."""

    ok: bool
    node_id: str | None = None


def node_routes(sup: Supervisor) -> APIRouter:
    """``/api/queues``, ``/api/workers``, ``/api/schedules`` and ``/api/stats`` on ``sup``."""
    router = APIRouter(prefix="/api")

    @router.get("/queues", response_model=list[QueueOut], tags=["queues"], summary="List queues")
    def get_queues() -> list[dict[str, Any]]:
        """Every declared queue and every queue with tasks: settings, counts by status, running."""
        return [record_json(queue) for queue in sup.get_queues()]

    @router.patch("/queues/{name}", response_model=QueueOut, tags=["queues"], summary="Change a queue")
    def set_queue(name: str, body: QueueChanges) -> dict[str, Any]:
        """``set_queue``: declare the queue or change it (a key left out keeps its value, a null
        removes that limit; ``paused`` pauses or resumes it). Answers the queue after."""
        changes = body.model_dump(exclude_unset=True)
        if isinstance(changes.get("rate_limit"), list):  # JSON's [N, seconds]: set_queue's (N, seconds)
            changes["rate_limit"] = tuple(changes["rate_limit"])
        return record_json(sup.set_queue(name, **changes))

    @router.get("/workers", response_model=list[WorkerOut], tags=["workers"], summary="List task workers")
    def get_workers(name: str | None = None) -> list[dict[str, Any]]:
        """The task workers registered on this node (title, description, queue, ...); private ones
        only when ``name`` names them."""
        return [json_value(worker) for worker in describe_workers(sup, name)]

    @router.get("/schedules", response_model=list[Schedule], tags=["schedules"], summary="List schedules")
    def get_schedules() -> list[dict[str, Any]]:
        """Every schedule in the store, by key."""
        return [record_json(schedule) for schedule in sup.get_schedules()]

    @router.get("/stats", response_model=dict[str, Any], tags=["stats"], summary="The node's stats")
    def get_stats() -> dict[str, Any]:
        """``sup.stats()``: counts by status and queue, workers, nodes, health."""
        stats: dict[str, Any] = json_value(sup.stats())
        return stats

    return router


def health_route(sup: Supervisor) -> APIRouter:
    """``GET /healthz`` (no auth): 200 while the node is healthy, else 503."""
    router = APIRouter()

    @router.get("/healthz", response_model=Health, tags=["health"], summary="Liveness",
                responses={503: {"model": Health, "description": "The node is failing or stopped"}})
    def healthz() -> Any:
        """Whether the node answers and its loops and store work (``stats()["health"]["ok"]``)."""
        try:
            stats = sup.stats()
        except ActorsError:  # stopped, or its store unreachable
            return JSONResponse(Health(ok=False, node_id=sup.node_id).model_dump(), status_code=503)
        health = Health(ok=bool(stats.get("health", {}).get("ok", False)), node_id=stats.get("node_id"))
        return health if health.ok else JSONResponse(health.model_dump(), status_code=503)

    return router
