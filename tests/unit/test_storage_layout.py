"""The storage packages keep their shape: backends never import pykka, sqlite-utils is
imported lazily and only by the SQLite store, every module stays within 400 lines, and
the three stores are importable from their packages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

STORAGE = Path(__file__).resolve().parents[2] / "actors" / "storage"
MODULES = sorted(STORAGE.rglob("*.py"))


def _imports(tree: ast.AST) -> list[tuple[str, bool]]:
    """(module imported, at run time when the module loads?) for every import in ``tree``."""
    found: list[tuple[str, bool]] = []

    def walk(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            typing_only = isinstance(child, ast.If) and ast.unparse(child.test).endswith("TYPE_CHECKING")
            inner = top and not typing_only and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend((alias.name, top) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                found.append((child.module, top))
            walk(child, inner)

    walk(tree, True)
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(STORAGE)))
def test_no_storage_module_imports_pykka(path: Path) -> None:
    roots = {name.split(".")[0] for name, _ in _imports(ast.parse(path.read_text()))}
    assert "pykka" not in roots


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(STORAGE)))
def test_sqlite_utils_is_imported_only_inside_functions_of_the_sqlite_store(path: Path) -> None:
    uses = [top for name, top in _imports(ast.parse(path.read_text())) if name.split(".")[0] == "sqlite_utils"]
    if uses:
        assert path.parent.name == "sqlite"
    assert not any(uses), "sqlite_utils must be imported lazily (inside the functions that need it)"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(STORAGE)))
def test_every_storage_module_is_at_most_400_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 400


def test_each_store_is_exported_by_its_package() -> None:
    from actors.storage.memory import MemoryStore
    from actors.storage.sqlite import SQLiteStore

    assert MemoryStore.__name__ == "MemoryStore" and SQLiteStore.__name__ == "SQLiteStore"
    postgres = pytest.importorskip("actors.storage.postgres")
    assert postgres.PostgresStore.__name__ == "PostgresStore"


@pytest.mark.parametrize(("text", "home"), [
    ("Quarantined: the lease expired", "lifecycle.py"),  # the reclaim / quarantine rule
    ("an attempt cannot finish RUNNING", "spec/stored.py"),
    ("a task cannot be added RUNNING", "spec/stored.py"),
    ("an unfinished task needs run_at", "spec/stored.py"),
    ("must be 'high', 'normal' or 'low'", "spec/values.py"),
    ("each tag must be a non-empty string", "spec/values.py"),
    ("cannot be updated (allowed:", "spec/stored.py"),
    ("not JSON: {exc}", "spec/values.py"),
])
def test_each_rule_and_field_check_is_written_once(text: str, home: str) -> None:
    package = STORAGE.parent
    holders = sorted(str(p.relative_to(package)) for p in package.rglob("*.py") if text in p.read_text())
    assert holders == [home]
