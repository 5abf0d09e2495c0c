"""How the command line writes: tables, key/value blocks, JSON documents, progress bars, errors.

The one module that imports rich (house rule 5). Tables and lines go to stdout, errors and
progress bars to stderr, so ``--json`` output on stdout stays one parseable document.
Cells are shown as plain text (never rich markup: a task's ``[error]`` text stays as is);
off a terminal the width is not limited, so a pipe or a test sees whole rows.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ..jsonvalues import json_value

__all__ = ["error", "key_values", "line", "print_json", "progress", "table", "when"]

#: The width used off a terminal (a pipe, a file): wide enough that rows never wrap.
_PIPE_WIDTH = 1000


def _console(*, stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    terminal = stream.isatty()
    return Console(file=stream, highlight=False, soft_wrap=not terminal,
                   width=None if terminal else _PIPE_WIDTH)


def print_json(document: Any, *, compact: bool = False) -> None:
    """Write ``document`` (as ``actors.jsonvalues.json_value``) to stdout as one JSON document: indented, or on
    one line when ``compact``."""
    sys.stdout.write(json.dumps(json_value(document), indent=None if compact else 2) + "\n")
    sys.stdout.flush()


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str | None = None,
          empty: str = "(none)") -> None:
    """Write a table to stdout (one row per item; ``empty`` when there are no rows)."""
    console = _console()
    if title:
        console.print(Text(title, style="bold"))
    if not rows:
        console.print(Text(empty))
        return
    shown = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for column in columns:
        shown.add_column(column, overflow="fold")
    for row in rows:
        shown.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
    if console.is_terminal:
        console.print(shown)
        return
    with console.capture() as captured:
        console.print(shown)
    console.file.write("".join(f"{row.rstrip()}\n" for row in captured.get().splitlines()))


def key_values(pairs: Sequence[tuple[str, Any]], *, title: str | None = None) -> None:
    """Write ``field  value`` lines to stdout (a record's detail)."""
    table(["field", "value"], [[key, value] for key, value in pairs], title=title)


def line(text: str = "") -> None:
    """Write one plain line to stdout."""
    _console().print(Text(text))


def error(text: str) -> None:
    """Write ``text`` to stderr as one line (newlines in it become spaces)."""
    sys.stderr.write(" ".join(text.split()) + "\n")
    sys.stderr.flush()


@contextmanager
def progress(total: int, description: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr for ``total`` steps; yields ``advance_to(done)``."""
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
                   TimeElapsedColumn(), console=_console(stderr=True))
    with bar:
        task = bar.add_task(description, total=total)

        def advance_to(done: int) -> None:
            bar.update(task, completed=min(done, total))

        yield advance_to


def when(moment: datetime | None) -> str:
    """A datetime in the local time zone, to the second ("" for None)."""
    return "" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")
