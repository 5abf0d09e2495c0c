"""Who may call the API: a bearer token on every route but ``/healthz``, and where a server
without a token may listen (loopback only).

With a token set, a request needs ``Authorization: Bearer TOKEN`` (compared in constant time),
else it is answered 401. ``GET /api/events`` also takes ``?token=TOKEN``: a browser's
``EventSource`` cannot send headers. Without a token every request is let through, which is
why :func:`check_bind` refuses to serve on anything but a loopback address then.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from ..errors import ValidationError

__all__ = ["check_bind", "check_token", "is_loopback", "token_guard"]

_BEARER = HTTPBearer(auto_error=False, description="The server's token (`actors serve --token` / `ACTORS_TOKEN`)")


def check_token(token: object) -> str | None:
    """``token`` as the app keeps it: None (no auth) or a non-empty string without spaces."""
    if token is None:
        return None
    if not isinstance(token, str) or not token or token != token.strip() or any(c.isspace() for c in token):
        raise ValidationError("token", token, "must be a non-empty string without spaces, or None")
    return token


def token_guard(token: str | None, *, query: bool = False) -> Callable[..., None]:
    """The dependency that lets a request through when it carries ``token`` (always when None);
    ``query=True`` also accepts ``?token=`` (the SSE route)."""

    def guard(request: Request,
              credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)] = None) -> None:
        if token is None:
            return
        given = credentials.credentials if credentials is not None else None
        if given is None and query:
            given = request.query_params.get("token")
        if given is None or not secrets.compare_digest(given.encode(), token.encode()):
            raise HTTPException(401, "a valid 'Authorization: Bearer TOKEN' header is required",
                                headers={"WWW-Authenticate": "Bearer"})

    return guard


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (``127.0.0.0/8``, ``::1``)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name: it may resolve anywhere


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve on a non-loopback ``host`` without a token.

    Raises:
        ValidationError: ``host`` is not a string, or not a loopback address while ``token`` is None.
    """
    if not isinstance(host, str) or not host.strip():
        raise ValidationError("host", host, "must be a host name or address")
    if token is None and not is_loopback(host):
        raise ValidationError("host", host, "refusing to serve on a non-loopback address without a token: "
                              "anyone who can reach it could run and delete tasks; set a token "
                              "(--token TOKEN or ACTORS_TOKEN) or bind 127.0.0.1")
