"""``GET /api/events``: the node's events as Server-Sent Events, one ``data:`` JSON line each.

The route subscribes to the node (``sup.subscribe(fn, events=)``) for as long as the client
stays connected. ``fn`` runs on the node's event thread and only hands the event to the
connection's event loop (``call_soon_threadsafe``) into a bounded queue: a slow client never
slows the node; past :data:`BUFFER` waiting events the newest are dropped and counted
(``actors_sse_dropped_events_total``; ``actors_sse_streams`` counts the open streams). A
comment line is sent on connect (the subscription is live once it arrives) and every
:data:`KEEPALIVE` seconds while nothing happens, so proxies keep the connection open; the
stream looks every :data:`POLL` seconds whether the client is gone, and then unsubscribes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from ..errors import StoreError
from .convert import event_json
from .listing import is_private

if TYPE_CHECKING:
    from ..system import Supervisor
    from .metrics import Metrics

__all__ = ["BUFFER", "KEEPALIVE", "POLL", "event_routes"]

#: Events waiting for one slow client before the newest are dropped.
BUFFER = 10_000
#: Seconds between keep-alive comments on a quiet stream.
KEEPALIVE = 15.0
#: Seconds between two looks whether the client is still there.
POLL = 0.5


def event_routes(sup: Supervisor, guard: Callable[..., None], metrics: Metrics) -> APIRouter:
    """The SSE route on ``sup`` (``guard``: its auth, which also takes ``?token=``; ``metrics``
    counts the open streams and the events dropped for slow clients)."""
    router = APIRouter()

    @router.get("/api/events", tags=["events"], summary="Live events (Server-Sent Events)",
                dependencies=[Depends(guard)], response_class=StreamingResponse,
                responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
                                 "description": "`data: {kind, task_id, name, queue, at, data}` lines"}})
    async def events(request: Request,
                     events: Annotated[list[str] | None, Query(description="event kinds (repeatable)")] = None,
                     name: Annotated[str | None, Query(description="only this worker's tasks (private too)")] = None,
                     task_id: Annotated[str | None, Query(description="only this task's events")] = None,
                     token: Annotated[str | None, Query(description="the token, for clients that cannot send "
                                                        "headers (a browser's EventSource)")] = None,
                     ) -> StreamingResponse:
        """Each event the node records, as it happens (``sup.subscribe``)."""
        del token  # (read by the guard)
        subscribe = getattr(sup, "subscribe", None)
        if subscribe is None:
            raise StoreError("this node cannot subscribe to events (Supervisor.subscribe is missing)")
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=BUFFER)

        def put(event: Any) -> None:
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                metrics.dropped()

        def deliver(event: Any) -> None:  # on the node's event thread
            if task_id is not None and event.task_id != task_id:
                return
            if name is not None and event.name != name:
                return
            if name is None and task_id is None and is_private(sup, event.name):
                return
            with contextlib.suppress(RuntimeError):  # the loop closed: the client is gone
                loop.call_soon_threadsafe(put, event)

        unsubscribe = await run_in_threadpool(subscribe, deliver, events)
        metrics.streams.inc()
        closed = threading.Event()

        def close() -> None:  # once, whichever comes first: the stream's end or the response's
            if not closed.is_set():
                closed.set()
                unsubscribe()
                metrics.streams.dec()

        return StreamingResponse(_stream(request, queue, close), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
                                 background=BackgroundTask(close))

    return router


async def _stream(request: Request, queue: asyncio.Queue[Any], unsubscribe: Callable[[], None]) -> AsyncIterator[str]:
    """The stream's lines until the client goes (a server on ASGI 2.4 tells a gone client only
    when a write fails: the stream looks every :data:`POLL` seconds instead)."""
    try:
        yield ": connected\n\n"
        quiet = 0.0
        while not await request.is_disconnected():
            try:
                event = await asyncio.wait_for(queue.get(), POLL)
            except asyncio.TimeoutError:
                quiet += POLL
                if quiet >= KEEPALIVE:
                    quiet = 0.0
                    yield ": keepalive\n\n"
                continue
            quiet = 0.0
            yield f"data: {json.dumps(event_json(event), separators=(',', ':'))}\n\n"
    finally:
        unsubscribe()
