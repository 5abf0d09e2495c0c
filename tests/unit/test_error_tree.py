"""The one error tree: every error a caller sees is an ``actors.ActorsError``."""

from __future__ import annotations

import actors
from actors import errors


def test_child_start_error_is_in_the_tree_and_exported() -> None:
    assert issubclass(actors.ChildStartError, actors.ActorsError)
    assert issubclass(actors.ChildStartError, RuntimeError)
    assert "ChildStartError" in actors.__all__
    assert "ChildStartError" in (errors.__doc__ or "")


def test_child_start_error_old_import_paths_still_work() -> None:
    from actors.execution.process import ChildStartError as from_process
    from actors.execution.process.spawn import ChildStartError as from_parent

    assert from_parent is actors.ChildStartError is from_process is errors.ChildStartError
