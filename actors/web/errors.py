"""How errors become answers: every error is JSON ``{"field": ..., "value": ..., "error": ...}``.

- ``actors.ValidationError`` and a request the models refuse (malformed JSON, a query
  parameter of the wrong type, a missing field) → 422 naming the field and its value;
- ``actors.TaskNotFound`` → 404 (field ``id``); ``UnknownWorker`` → 422 (field ``name``);
- ``NodeStopped`` / ``StoreError`` → 503, ``Timeout`` → 504, any other error → 500 with its text;
- a route that does not exist or a method it does not take: 404 / 405 in the same shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..errors import ActorsError, NodeStopped, StoreError, TaskNotFound, Timeout, UnknownWorker, ValidationError
from .convert import json_value
from .schemas import ErrorBody

__all__ = ["ERROR_RESPONSES", "error_response", "install_error_handlers"]

#: The error answers every API route documents (``responses=`` of the routers).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No valid `Authorization: Bearer TOKEN` (a token is set)"},
    404: {"model": ErrorBody, "description": "No such task (or route)"},
    422: {"model": ErrorBody, "description": "Bad input: `field` and `value` name it, `error` says why"},
    503: {"model": ErrorBody, "description": "The node is stopped or its store cannot be reached"},
}


def error_response(status: int, error: str, *, field: str | None = None, value: Any = None,
                   headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The JSON error answer."""
    body = {"field": field, "value": json_value(value), "error": error}
    return JSONResponse(body, status_code=status, headers=dict(headers) if headers else None)


def actors_error_response(exc: ActorsError) -> JSONResponse:
    """The answer for an error of ``actors``' tree (see the module's docstring)."""
    if isinstance(exc, ValidationError):
        return error_response(422, exc.reason, field=exc.field, value=exc.value)
    if isinstance(exc, TaskNotFound):
        return error_response(404, str(exc), field="id", value=exc.task_id)
    if isinstance(exc, UnknownWorker):
        return error_response(422, str(exc), field="name", value=exc.name)
    if isinstance(exc, (NodeStopped, StoreError)):
        return error_response(503, str(exc))
    if isinstance(exc, Timeout):
        return error_response(504, str(exc))
    return error_response(500, str(exc))


def _field_of(location: Sequence[Any]) -> str:
    """``("body", "tags", 0)`` → ``"tags.0"``; ``("query", "limit")`` → ``"limit"``; ``("body",)`` → ``"body"``."""
    parts = [str(part) for part in location]
    if len(parts) > 1 and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _on_request_validation(_: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    if not errors:
        return error_response(422, str(exc), field="body")
    first = errors[0]
    location = first.get("loc", ())
    if first.get("type") == "json_invalid":
        return error_response(422, f"malformed JSON: {first.get('msg', '')}", field="body",
                              value=first.get("ctx", {}).get("error"))
    return error_response(422, str(first.get("msg", "invalid")), field=_field_of(location), value=first.get("input"))


async def _on_actors_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ActorsError)
    return actors_error_response(exc)


async def _on_http_exception(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, str(exc.detail), headers=exc.headers)


async def _on_anything_else(_: Request, exc: Exception) -> JSONResponse:
    return error_response(500, f"internal error: {type(exc).__name__}: {exc}")


def install_error_handlers(app: FastAPI) -> None:
    """Every error answered as ``ErrorBody``."""
    app.add_exception_handler(RequestValidationError, _on_request_validation)
    app.add_exception_handler(ActorsError, _on_actors_error)
    app.add_exception_handler(HTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_anything_else)
