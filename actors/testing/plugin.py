"""The pytest plugin (entry point ``actors``, active once ``actors`` is installed).

Fixtures:

- ``supervisor``: a node for one test — the memory store (or a temporary SQLite file),
  tasks run inline, a ``ManualClock``; stopped after the test.
- ``actors_clock``: that node's ``ManualClock`` (ask for both to move time by hand).

Choose the store and other ``Supervisor.start`` keywords with the ``actors`` marker, or
parametrize the fixture indirectly::

    @pytest.mark.actors(store="sqlite", lease_ttl=10)
    def test_on_sqlite(supervisor): ...

    @pytest.mark.parametrize("supervisor", ["memory", "sqlite"], indirect=True)
    def test_on_both(supervisor): ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from ..clock import ManualClock

if TYPE_CHECKING:
    from ..runtime.handle import Supervisor

#: Where the manual clock of a ``supervisor`` fixture starts (epoch seconds).
START = 1_700_000_000.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "actors(store='memory', **options): the store ('memory' or 'sqlite') and other "
                   "Supervisor.start keywords of the test's `supervisor` fixture")


@pytest.fixture
def actors_clock() -> ManualClock:
    """The manual clock the ``supervisor`` fixture runs on."""
    return ManualClock(START)


@pytest.fixture
def supervisor(request: pytest.FixtureRequest, actors_clock: ManualClock,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Supervisor]:
    """An inline node on a manual clock, stopped after the test (module docstring)."""
    from .nodes import inline_supervisor, store_for

    marker = request.node.get_closest_marker("actors")
    options = dict(marker.kwargs) if marker else {}
    if marker and marker.args:
        options.setdefault("store", marker.args[0])
    kind = str(getattr(request, "param", options.pop("store", "memory")))
    options.pop("store", None)
    directory = tmp_path_factory.mktemp("actors") if kind == "sqlite" else "."
    node = inline_supervisor(store_for(kind, directory), clock=actors_clock, **options)
    yield node
    node.stop()
