"""Fixtures of the HTTP API tests: the app of the inline node (``sup``, the unit tests'
fixture) behind an in-process client (no socket), without and with a token."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest

import actors
from actors.web import create_app

with warnings.catch_warnings():  # (newer Starlette prefers another client package; httpx is what we ship)
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

#: The token of the ``authed`` client's app.
TOKEN = "s3cret-token"


@pytest.fixture
def client(sup: actors.Supervisor) -> Iterator[TestClient]:
    with TestClient(create_app(sup)) as test_client:
        yield test_client


@pytest.fixture
def authed(sup: actors.Supervisor) -> Iterator[TestClient]:
    """A client of an app with a token (requests carry no header unless a test adds it)."""
    with TestClient(create_app(sup, token=TOKEN)) as test_client:
        yield test_client


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def echo(ctx: Any, options: dict[str, Any], task: actors.Task) -> dict[str, Any]:
    """A worker that logs a line and returns its options (fails when they say ``fail``)."""
    ctx.log.info("hello from %s", task.id[:8])
    if options.get("fail"):
        raise RuntimeError("asked to fail")
    return dict(options)
