"""``actors serve``: the HTTP Jobs API and the live dashboard for a store.

The server is ``actors.web.server.run`` (the ``actors[web]`` extra), imported only when the
command runs, so the rest of the command line works without the web stack. The token is
``--token``, else ``$ACTORS_TOKEN``; without one the server binds loopback only (a
non-loopback ``--host`` is refused: ``ValidationError``, exit 2).
"""

from __future__ import annotations

import argparse
from typing import Any

from ._common import FAILED, CommandError, command, store_of

__all__ = ["register"]


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``serve`` to the ``actors`` parser."""
    serve = command(sub, "serve", common, run_server, "serve the HTTP API and the dashboard (actors[web])")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    serve.add_argument("--token", default=None,
                       help="bearer token every route but /healthz requires (default: $ACTORS_TOKEN)")


def run_server(args: argparse.Namespace) -> int:
    try:
        from ..web.server import run  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        raise CommandError(f"actors serve needs the web extra ({exc}): pip install 'actors[web]'", FAILED) from None
    # (run reads $ACTORS_TOKEN itself when no --token is given)
    return int(run(store_of(args), host=args.host, port=args.port, token=args.token))
