"""The HTTP Jobs API, ``/metrics`` and the dashboard (``pip install actors[web]``).

``create_app(sup, token=None)`` returns the ASGI app for a running node; ``actors.web.server.run``
serves one for a store (``actors serve``). FastAPI, uvicorn and prometheus-client are imported in
this package only.
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
