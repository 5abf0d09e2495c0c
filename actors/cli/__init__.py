"""The ``actors`` command: one module per command group, ``main`` here.

``actors tasks list|show|retry|cancel|delete``, ``actors queues [set NAME]``, ``actors
schedules``, ``actors stats`` (through a client-only node: they run no task),
``actors serve`` (the HTTP API, ``actors[web]``), ``actors bench``, ``actors demo`` and
``actors worker MODULE``. Every command takes ``--store`` and ``--json``.

Errors reach the user as one line on stderr, never a traceback, and the exit code says
what kind (``actors.cli._common``: 0 ok, 1 failure, 2 usage or validation, 3 store).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from ..errors import ActorsError, StoreError, ValidationError
from . import _render as render
from . import bench, demo, overview, queues, serve, tasks, worker
from ._common import FAILED, UNREACHABLE, USAGE, CommandError, common_options

__all__ = ["main"]

_EPILOG = """exit codes:
  0  done
  1  a task or operation failed (unknown id, a task in the wrong state, a run that did not verify)
  2  bad usage or input (a ValidationError: nothing was changed)
  3  the store cannot be reached or used

--store defaults to $ACTORS_STORE, else tasks.db (demo and bench: a new SQLite file)."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit 2)."""

    def error(self, message: str) -> NoReturn:
        render.error(f"{self.prog}: error: {message} (see {self.prog} --help)")
        raise SystemExit(USAGE)


def build_parser() -> argparse.ArgumentParser:
    """The ``actors`` parser with every command group's subcommands."""
    common = common_options()
    parser = _Parser(prog="actors", description="A durable background-task runtime.", epilog=_EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter, parents=[common])
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (tasks, queues, overview, serve, bench, demo, worker):
        group.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``actors`` command; returns its exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run: Any = args.run
    try:
        return int(run(args))
    except CommandError as exc:
        render.error(str(exc))
        return exc.code
    except ValidationError as exc:
        render.error(f"actors: invalid input: {exc}")
        return USAGE
    except StoreError as exc:
        render.error(f"actors: store unreachable: {exc}")
        return UNREACHABLE
    except ActorsError as exc:
        render.error(f"actors: {type(exc).__name__}: {exc}")
        return FAILED
    except KeyboardInterrupt:
        render.error("actors: interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
