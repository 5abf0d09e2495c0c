"""The HTTP API's in-process client for the acceptance tests (``actors.web``, no socket)."""

from __future__ import annotations

import warnings

import actors.web  # noqa: F401  (``actors.web.create_app`` for the tests that import this module)

with warnings.catch_warnings():  # (newer Starlette prefers another client package; httpx is what we ship)
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

__all__ = ["TestClient", "bearer"]


def bearer(token: str) -> dict[str, str]:
    """The ``Authorization`` header of a request carrying ``token``."""
    return {"Authorization": f"Bearer {token}"}
