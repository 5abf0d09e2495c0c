"""What every command shares: exit codes, the ``--store`` / ``--json`` options, the client node.

Exit codes (``actors --help`` and the README list them):

- ``OK`` 0: done;
- ``FAILED`` 1: a task or operation failed (an unknown id, a task in the wrong state for a
  retry, a benchmark that did not verify, any other ``ActorsError``);
- ``USAGE`` 2: bad usage or a ``ValidationError`` (nothing was changed);
- ``UNREACHABLE`` 3: the store cannot be opened or used (``StoreError``).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from . import _render as render

if TYPE_CHECKING:
    from ..system import Supervisor

T = TypeVar("T")

__all__ = ["DEFAULT_STORE", "FAILED", "OK", "STORE_HELP", "UNREACHABLE", "USAGE", "CommandError", "add_filters",
           "client", "command", "common_options", "filters", "printed_json", "read", "store_of", "wants_json"]

OK, FAILED, USAGE, UNREACHABLE = 0, 1, 2, 3

#: The store when neither ``--store`` nor ``ACTORS_STORE`` names one.
DEFAULT_STORE = "tasks.db"

STORE_HELP = ("store: an SQLite path or postgresql://...[?schema=NAME] "
              f"(default: $ACTORS_STORE, else {DEFAULT_STORE})")


class CommandError(Exception):
    """A command's own refusal: ``message`` on stderr as one line, exit ``code``."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.code = code


def common_options(store_help: str = STORE_HELP) -> argparse.ArgumentParser:
    """A parent parser with ``--store`` and ``--json``.

    Their defaults are suppressed, so the options may be given before or after a
    subcommand (``actors --json queues``, ``actors queues set q --json``) without a
    subcommand's default overwriting the value given earlier; read them with
    :func:`store_of` and :func:`wants_json`.
    """
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--store", default=argparse.SUPPRESS, help=store_help)
    parent.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="machine-readable output: one JSON document on stdout")
    return parent


def command(sub: Any, name: str, common: argparse.ArgumentParser, run: Callable[[argparse.Namespace], int],
            text: str, **defaults: Any) -> argparse.ArgumentParser:
    """Add the subcommand ``name`` (with ``common``'s options) that runs ``run(args)``."""
    parser: argparse.ArgumentParser = sub.add_parser(name, parents=[common], help=text)
    parser.set_defaults(run=run, **defaults)
    return parser


def store_of(args: argparse.Namespace) -> str:
    """The store to open: ``--store``, else ``$ACTORS_STORE``, else ``DEFAULT_STORE``."""
    given: str | None = getattr(args, "store", None)
    return given or os.environ.get("ACTORS_STORE") or DEFAULT_STORE


def wants_json(args: argparse.Namespace) -> bool:
    """Whether ``--json`` was given."""
    return bool(getattr(args, "json", False))


def printed_json(args: argparse.Namespace, document: Any) -> bool:
    """With ``--json``: print ``document`` as one JSON document and return True; else False
    (the command then prints its table)."""
    if not wants_json(args):
        return False
    render.print_json(document)
    return True


def read(args: argparse.Namespace, fetch: Callable[[Supervisor], T]) -> T:
    """``fetch(sup)`` on a :func:`client` node of the command's store."""
    with client(args) as sup:
        return fetch(sup)


@contextmanager
def client(args: argparse.Namespace) -> Iterator[Supervisor]:
    """A client-only node on the command's store (``workers=0``: it creates, reads and changes
    tasks but runs none), stopped when the block ends."""
    from ..system import Supervisor

    with Supervisor.start(store_of(args), workers=0) as sup:
        yield sup


def filters(args: argparse.Namespace) -> dict[str, Any]:
    """``get_tasks``' keywords from the filter options (``--status``, ``--name``, ``--queue``,
    ``--tag``) that were given."""
    found: dict[str, Any] = {}
    statuses = _split(getattr(args, "status", None))
    if statuses:
        found["status"] = statuses
    for key in ("name", "queue"):
        if getattr(args, key, None) is not None:
            found[key] = getattr(args, key)
    if getattr(args, "tag", None):
        found["tags"] = list(args.tag)
    return found


def add_filters(parser: argparse.ArgumentParser) -> None:
    """The filter options of ``tasks list`` and the bulk actions."""
    parser.add_argument("--status", action="append", metavar="S",
                        help="pending, running, succeeded, failed, cancelled or paused (repeat, or comma-separate)")
    parser.add_argument("--name", metavar="N", help="only tasks of this worker name")
    parser.add_argument("--queue", metavar="Q", help="only tasks of this queue")
    parser.add_argument("--tag", action="append", metavar="T", help="only tasks carrying this tag (repeatable: all)")


def _split(values: Sequence[str] | None) -> list[str]:
    return [part.strip() for value in values or () for part in value.split(",") if part.strip()]
