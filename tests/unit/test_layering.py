"""The package's layering, checked from its imports (every ``import`` in every module,
function-level ones included, so a lazy import cannot hide a break).

The rules (ARCHITECTURE.md, the house rules):

- the kernel (time, errors, records, field checks, retry, cron, lifecycle, messages, the
  task context) imports only the standard library and the kernel;
- each third-party library is imported in one home;
- storage backends never import pykka, the runtime or the executors;
- executors never import pykka, the stores or the runtime;
- a pool child's side (what the child process imports) is the kernel and the standard library;
- only the composition root picks concrete stores and executors: the actors see protocols;
- the HTTP API (``actors.web``) sits above the runtime: nothing below imports it, and it uses
  the runtime through the ``Supervisor`` handle only;
- the command line (``actors.cli``, rich's one home) sits on top: nothing in the library imports it.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "actors"

#: Modules of the kernel (stdlib only): anything may import them.
KERNEL = {
    "actors.clock", "actors.errors", "actors.models", "actors.spec", "actors.spec.task", "actors.spec.values",
    "actors.spec.stored", "actors.spec.unique",
    "actors.retry", "actors.cron",
    "actors.lifecycle", "actors.messages", "actors.events", "actors.context", "actors.attempt", "actors.schema",
    "actors.creating", "actors.requests", "actors.jsonvalues",
    "actors.workers", "actors.storage.base", "actors.storage._rules",
    "actors.storage.capabilities", "actors.storage.iterating", "actors.storage.clustering", "actors.iterations",
    "actors.triggers",
    "actors.feed", "actors.feed.event", "actors.feed.bus",
    "actors.feed.follow", "actors.storage.changes", "actors.tracing",
}

#: The kernel's optional libraries: imported lazily (inside a function, never at module level) by
#: their one kernel module, which works without them (``actors.tracing``: OpenTelemetry).
KERNEL_OPTIONAL = {"actors.tracing": "opentelemetry"}

#: Where each third-party library may be imported (module names, or packages ending in ".").
HOMES = {
    "pykka": {"actors.runtime.", "actors.batch.drain"},
    "psutil": {"actors.execution.process"},
    "cloudpickle": {"actors.execution.process"},
    "psycopg": {"actors.storage.postgres", "actors.storage._pg_listen", "actors.storage._pg_schema"},
    "psycopg_pool": {"actors.storage.postgres"},
    "sqlite_utils": {"actors.storage.sqlite"},
    "pytest": {"actors.testing.plugin"},
    "rich": {"actors.cli._render"},
    # the HTTP API: its web framework (and the models FastAPI is typed with) in actors.web only,
    # the server in its server module, the metrics library in its metrics module
    "fastapi": {"actors.web."},
    "starlette": {"actors.web."},
    "pydantic": {"actors.web."},
    "uvicorn": {"actors.web.server"},
    "prometheus_client": {"actors.web.metrics"},
    "opentelemetry": {"actors.tracing"},
}

#: The composition root: the only modules that may name concrete stores and executors.
ROOTS = {"actors.system", "actors.runtime.node", "actors.testing"}

CONCRETE = ("actors.storage.memory", "actors.storage.sqlite", "actors.storage.postgres",
            "actors.execution.process", "actors.execution.thread", "actors.execution.inline")

#: What a pool child imports (it must stay small: worker-side memory).
CHILD_SIDE = ("actors.execution.process.child", "actors.execution.process.outbox", "actors.execution.process.wire")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> Iterator[str]:
    """Every module ``path`` imports, absolute (relative imports resolved)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            else:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            yield base
            for alias in node.names:  # ``from . import sqlite`` imports a module
                yield f"{base}.{alias.name}"


MODULES = {_module_name(path): sorted(set(_imports(path))) for path in sorted(PACKAGE.rglob("*.py"))}


def _within(module: str, homes: set[str] | tuple[str, ...]) -> bool:
    return any(module == home or (home.endswith(".") and module.startswith(home))
               or module.startswith(home + ".") for home in homes)


def _third_party(imported: str) -> str | None:
    top = imported.split(".")[0]
    return None if top in sys.stdlib_module_names or top == "actors" or top == "__future__" else top


def _is_module(name: str) -> bool:
    return name in MODULES


def test_the_kernel_imports_only_the_standard_library_and_the_kernel() -> None:
    breaks = [(module, imported) for module in KERNEL if module in MODULES for imported in MODULES[module]
              if (_third_party(imported) and _third_party(imported) != KERNEL_OPTIONAL.get(module))
              or (_is_module(imported) and imported not in KERNEL
                  and imported != "actors.storage" and imported != "actors")]
    assert breaks == []


@pytest.mark.parametrize("module", sorted(KERNEL_OPTIONAL))
def test_the_kernel_imports_its_optional_library_lazily(module: str) -> None:
    path = PACKAGE.parent.joinpath(*module.split(".")).with_suffix(".py")
    tree = ast.parse(path.read_text(), str(path))
    top = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    names = [alias.name for node in top if isinstance(node, ast.Import) for alias in node.names]
    names += [node.module or "" for node in top if isinstance(node, ast.ImportFrom)]
    assert not [name for name in names if name.split(".")[0] == KERNEL_OPTIONAL[module]]
    assert any(_third_party(imported) == KERNEL_OPTIONAL[module] for imported in MODULES[module])


@pytest.mark.parametrize("library", sorted(HOMES))
def test_each_third_party_library_has_one_home(library: str) -> None:
    outside = [module for module, imports in MODULES.items()
               if any(_third_party(imported) == library for imported in imports)
               and not _within(module, HOMES[library])]
    assert outside == []


def test_storage_backends_never_import_pykka_the_runtime_or_the_executors() -> None:
    breaks = [(module, imported) for module, imports in MODULES.items() if module.startswith("actors.storage")
              for imported in imports
              if _third_party(imported) == "pykka" or _within(imported, (
                  "actors.runtime", "actors.execution", "actors.supervisor", "actors.system", "actors.worker_actor"))]
    assert breaks == []


def test_executors_never_import_pykka_the_stores_or_the_runtime() -> None:
    breaks = [(module, imported) for module, imports in MODULES.items() if module.startswith("actors.execution")
              for imported in imports
              if _third_party(imported) == "pykka" or _within(imported, (
                  "actors.runtime", "actors.supervisor", "actors.system", "actors.worker_actor"))
              or (_within(imported, ("actors.storage",)) and imported != "actors.storage.base")]
    assert breaks == []


def test_a_pool_child_imports_only_the_kernel_and_the_standard_library() -> None:
    breaks = [(module, imported) for module in CHILD_SIDE if module in MODULES for imported in MODULES[module]
              if _third_party(imported) or (_is_module(imported) and imported not in KERNEL
                                            and not _within(imported, CHILD_SIDE)
                                            and imported not in ("actors", "actors.execution",
                                                                 "actors.execution.process"))]
    assert breaks == []


def test_only_the_composition_root_names_concrete_stores_and_executors() -> None:
    breaks = [(module, imported) for module, imports in MODULES.items()
              if module not in ROOTS and not _within(module, CONCRETE)
              for imported in imports if _within(imported, CONCRETE)]
    assert breaks == []


#: Who may import the HTTP API (it sits above the runtime): itself and the command line.
WEB_USERS = ("actors.web", "actors.cli")


def test_nothing_below_the_web_layer_imports_it() -> None:
    breaks = [(module, imported) for module, imports in MODULES.items() if not _within(module, WEB_USERS)
              for imported in imports if _within(imported, ("actors.web",))]
    assert breaks == []


def test_the_web_layer_sees_the_runtime_only_through_the_handle() -> None:
    # routes call the Supervisor's public methods; they never reach into the actors or a store
    # (the records they answer with are the kernel's, storage.base's LogRecord among them)
    breaks = [(module, imported) for module, imports in MODULES.items() if _within(module, ("actors.web",))
              for imported in imports if not _within(imported, tuple(KERNEL))
              and _within(imported, ("actors.runtime", "actors.storage", "actors.execution", "actors.batch"))]
    assert breaks == []


def test_the_rules_see_the_package() -> None:
    # a check that found no modules (a moved package) would pass vacuously
    assert len(MODULES) > 30
    assert all(module in MODULES for module in CHILD_SIDE) and all(module in MODULES for module in KERNEL)
    assert "actors.execution.process" in MODULES or "actors.execution.process.__init__" in MODULES
    assert any(_third_party(imported) == "pykka" for imports in MODULES.values() for imported in imports)


def test_only_the_command_line_imports_the_command_line() -> None:
    # the CLI sits on top (it starts nodes like any application); the library never needs it
    breaks = [(module, imported) for module, imports in MODULES.items()
              if not _within(module, ("actors.cli",)) and module != "actors.__main__"
              for imported in imports if _within(imported, ("actors.cli",))]
    assert breaks == []
    assert "actors.cli._render" in MODULES
