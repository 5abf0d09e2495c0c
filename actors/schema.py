"""A worker's input schema (``TaskWorker(schema=...)``): a pydantic model or a callable.

Stdlib and the actors kernel only: pydantic is never imported here (a model class brings
its own; it is recognised by its methods), so the package imports and works without it.
``check`` runs at create, where the worker is registered (the metadata to store, or a
``ValidationError`` naming the field); ``parse`` runs where the task runs (what ``execute``
and the hooks get as ``options``: the model instance, or the stored dict).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import ValidationError

__all__ = ["Schema", "is_model"]


def is_model(value: object) -> bool:
    """True for a pydantic ``BaseModel`` subclass (v2: ``model_validate`` / ``model_dump``)."""
    return isinstance(value, type) and callable(getattr(value, "model_validate", None)) \
        and callable(getattr(value, "model_dump", None)) and hasattr(value, "model_fields")


class Schema:
    """The input schema of one worker.

    Args:
        given: a pydantic ``BaseModel`` subclass, or ``fn(options) -> dict`` that raises on
            bad input (its dict, when it returns one, is what is stored).

    Raises:
        ValidationError: ``given`` is neither (field ``schema``).
    """

    def __init__(self, given: Any) -> None:
        if not is_model(given) and not callable(given):
            raise ValidationError("schema", given, "must be a pydantic BaseModel subclass or a callable")
        self.given = given
        self.model = is_model(given)

    def check(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """The metadata to store for ``options``: the model's JSON dump
        (``model_dump(mode="json")``), or the callable's dict (``options`` if it returned
        something else).

        Raises:
            ValidationError: a bad field, named as pydantic's ``loc`` (``"address.zip"``) with its
                input; a callable's own ``ValidationError`` as is, any other error on ``metadata``.
        """
        try:
            if self.model:
                dumped = self.given.model_validate(dict(options)).model_dump(mode="json")
                return dict(dumped)
            value = self.given(dict(options))
        except ValidationError:
            raise
        except Exception as exc:
            raise _refusal(exc, options) from None
        return dict(value) if isinstance(value, Mapping) else dict(options)

    def parse(self, options: Mapping[str, Any]) -> Any:
        """What ``execute`` gets as ``options``: a model instance (validated again: the row
        may have been edited), or ``options`` as stored."""
        if self.model:
            return self.given.model_validate(dict(options))
        return dict(options)

    def __repr__(self) -> str:
        return f"Schema({getattr(self.given, '__name__', self.given)!r})"


def _refusal(exc: Exception, options: Mapping[str, Any]) -> ValidationError:
    """A ``ValidationError`` for what the schema raised: pydantic's first error names its field."""
    errors: Callable[[], Any] | None = getattr(exc, "errors", None)
    if callable(errors):
        try:
            first = errors()[0]
            field = ".".join(str(part) for part in first.get("loc", ())) or "metadata"
            return ValidationError(field, first.get("input"), str(first.get("msg", exc)))
        except Exception:
            pass
    return ValidationError("metadata", dict(options), f"rejected by the schema: {type(exc).__name__}: {exc}")
