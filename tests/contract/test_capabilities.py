"""Optional store capabilities are protocols (``storage.base``), not ``getattr`` probes: the
SQL stores can tell of other writers and wake a node; the memory store has no other writer."""

from __future__ import annotations

import pytest

from actors.storage.base import (
    DataVersioned,
    ListenerReporting,
    Subscribable,
    TaskStore,
    data_versioned,
    reports_listener,
    subscribable,
)


def test_each_store_declares_its_capabilities(store: TaskStore, request: pytest.FixtureRequest) -> None:
    shared = request.node.callspec.params["store"] != "memory"
    assert (data_versioned(store), subscribable(store), reports_listener(store)) == (shared, shared, shared)
    assert isinstance(store, DataVersioned) is shared
    assert isinstance(store, Subscribable) is shared
    assert isinstance(store, ListenerReporting) is shared


def test_a_store_that_does_not_listen_reports_no_listener(store: TaskStore) -> None:
    if reports_listener(store):
        assert store.listener_health() is None
    if data_versioned(store):
        assert isinstance(store.data_version(), int)
