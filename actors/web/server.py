"""``run(store, ...)``: serve the HTTP API and the dashboard for a store (``actors serve``).

The server starts its own node on the store with ``workers=0`` by default: a serve node
creates, lists, changes and waits on tasks but runs none (the worker fleet, ``actors worker``,
runs them; pass ``workers=`` to run tasks here too). It serves with uvicorn until interrupted
(Ctrl-C / SIGTERM), then stops the node. The token comes from ``token=`` or else the
``ACTORS_TOKEN`` environment variable; without one it serves on loopback only
(:func:`check_bind`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from ..errors import ValidationError
from .auth import check_bind, check_token

__all__ = ["TOKEN_ENV", "check_bind", "resolve_token", "run"]

log = logging.getLogger("actors")

#: The environment variable the token is read from when none is given.
TOKEN_ENV = "ACTORS_TOKEN"


def resolve_token(token: str | None) -> str | None:
    """``token``, else ``$ACTORS_TOKEN`` (empty: none), checked."""
    if token is None:
        token = os.environ.get(TOKEN_ENV) or None
    return check_token(token)


def run(store: str, *, host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
        workers: int = 0) -> int:
    """Serve ``store``'s API at ``http://host:port/`` until interrupted; the exit code (0: stopped
    cleanly, 1: the server could not start, e.g. the port is taken).

    Raises:
        ValidationError: a non-loopback ``host`` without a token, a bad port or token (named).
        StoreError: the store cannot be opened.
    """
    token = resolve_token(token)
    check_bind(host, token)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise ValidationError("port", port, "must be an integer from 0 to 65535")
    import uvicorn

    from ..system import Supervisor
    from .app import create_app

    sup = Supervisor.start(store, workers=workers)
    try:
        server = uvicorn.Server(uvicorn.Config(create_app(sup, token=token), host=host, port=port,
                                               log_level="info", lifespan="on"))
        with _terminate_as_interrupt():
            try:
                server.run()
            except KeyboardInterrupt:  # uvicorn shut down, then re-raised the signal it caught
                return 0
            except SystemExit as exc:  # uvicorn exits when it cannot start (the port is taken, ...)
                return 0 if exc.code in (0, None) else 1
        return 0 if server.started else 1
    finally:
        sup.stop()


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises ``KeyboardInterrupt`` meanwhile (uvicorn re-raises the signal it handled
    once it has shut down; by default that would end the process before the node stops)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
