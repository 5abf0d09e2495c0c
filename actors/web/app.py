"""``create_app(sup, token=None)``: the HTTP Jobs API of a running node, as an ASGI app.

The app is FastAPI (its ``/openapi.json`` is generated from the typed routes) and can be
served alone (``actors.web.server.run``, ``actors serve``) or mounted in an existing
FastAPI / Starlette application (``outer.mount("/actors", create_app(sup))``). It never
starts or stops ``sup``: the caller owns the node.

Layout: ``tasks`` (the task routes), ``routes`` (queues, schedules, stats, ``/healthz``),
``sse`` (``/api/events``), ``metrics`` (``/metrics``), ``auth`` (the token), ``errors`` (the
error bodies), and the dashboard's static files, mounted at ``/`` by :func:`mount_dashboard`
(the one place that serves them).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from .auth import check_token, token_guard
from .errors import ERROR_RESPONSES, install_error_handlers
from .metrics import Metrics
from .routes import health_route, node_routes
from .sse import event_routes
from .tasks import task_routes

if TYPE_CHECKING:
    from ..system import Supervisor

__all__ = ["STATIC", "create_app", "mount_dashboard"]

#: The dashboard's files (``index.html`` and what it loads), served at ``/`` when present.
STATIC = Path(__file__).resolve().parent / "static"

_PLACEHOLDER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>actors</title></head>
<body><h1>actors</h1><p>The dashboard is not installed in this build. The HTTP API is at
<code>/api/tasks</code>; its description at <code>/openapi.json</code>.</p></body></html>
"""


def create_app(sup: Supervisor, *, token: str | None = None) -> FastAPI:
    """The ASGI app serving ``sup``'s HTTP API, ``/metrics`` and the dashboard.

    Args:
        sup: a started node (``Supervisor.start``); the app calls it, never stops it.
        token: when set, every route but ``/healthz`` (and the dashboard's static files, which
            ask for the token in the browser) needs ``Authorization: Bearer TOKEN``; 401 otherwise.

    Raises:
        ValidationError: ``token`` is not a non-empty string without spaces (or None).
    """
    token = check_token(token)
    guard = token_guard(token)
    app = FastAPI(title="actors", version="1", summary="The HTTP Jobs API of an actors node",
                  openapi_url=None, docs_url=None, redoc_url=None)
    install_error_handlers(app)
    metrics = Metrics(sup)
    subscribe = getattr(sup, "subscribe", None)
    unsubscribe = subscribe(metrics.on_event) if subscribe is not None else None
    app.state.actors = sup
    app.state.metrics = metrics
    app.state.unsubscribe = unsubscribe
    if unsubscribe is not None:
        app.router.add_event_handler("shutdown", unsubscribe)

    app.include_router(health_route(sup))
    guarded: dict[str, Any] = {"dependencies": [Depends(guard)], "responses": ERROR_RESPONSES}
    app.include_router(task_routes(sup), **guarded)
    app.include_router(node_routes(sup), **guarded)
    app.include_router(event_routes(sup, token_guard(token, query=True), metrics),
                       responses=ERROR_RESPONSES)
    app.include_router(metrics.route(guard), responses={401: ERROR_RESPONSES[401]})

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(guard)])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    mount_dashboard(app)
    return app


def mount_dashboard(app: FastAPI, directory: Path = STATIC) -> None:
    """Serve the dashboard at ``/`` from ``directory`` (``index.html`` at ``/``), or a placeholder
    page when it is not there. Mounted last: every API route is matched before it."""
    if (directory / "index.html").is_file():
        app.mount("/", StaticFiles(directory=directory, html=True), name="dashboard")
        return

    @app.get("/", include_in_schema=False, response_class=HTMLResponse)
    def placeholder() -> str:
        return _PLACEHOLDER
