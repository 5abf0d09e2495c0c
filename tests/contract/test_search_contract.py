"""``TaskStore.search``: full-text search over names, descriptions and tags, the same on
every store (SQLite: FTS5 through sqlite-utils; PostgreSQL: to_tsvector; memory: words)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from actors.errors import ValidationError
from actors.models import Task, TaskStatus
from actors.storage.base import Finish, TaskStore

from .conftest import T0

MakeTask = Callable[..., Task]


def _ids(tasks: list[Task]) -> list[str]:
    return [task.id for task in tasks]


@pytest.fixture
def corpus(store: TaskStore, make_task: MakeTask) -> list[Task]:
    tasks = [
        make_task(name="EMAIL", description="Send the weekly digest", tags=["newsletter", "Marketing"]),
        make_task(name="BATCHER_DRAIN", description="drain the digest queue"),
        make_task(name="SYNC", description="Sync invoices to the ledger", tags=["billing"]),
        make_task(name="EMAIL", description="Send an invoice reminder", tags=["billing", "urgent"]),
    ]
    store.add(tasks)
    return tasks


def test_search_matches_every_word_in_names_descriptions_and_tags_in_creation_order(
        store: TaskStore, corpus: list[Task]) -> None:
    assert _ids(store.search("digest")) == _ids([corpus[0], corpus[1]])
    assert _ids(store.search("email")) == _ids([corpus[0], corpus[3]])  # the name, case-insensitive
    assert _ids(store.search("billing")) == _ids([corpus[2], corpus[3]])  # a tag
    assert _ids(store.search("marketing WEEKLY")) == [corpus[0].id]  # every word, any field
    assert _ids(store.search("drain")) == [corpus[1].id]  # a word of a name with "_"
    assert store.search("digest billing") == []
    assert store.search("dig") == []  # whole words, not prefixes


def test_search_returns_whole_tasks_and_honours_limit(store: TaskStore, corpus: list[Task]) -> None:
    [first] = store.search("send", limit=1)
    assert first == store.get(corpus[0].id)
    assert store.search("send", limit=0) == []
    assert len(store.search("send", limit=10)) == 2


def test_search_without_words_finds_nothing(store: TaskStore, corpus: list[Task]) -> None:
    assert store.search("") == []
    assert store.search("  -- ; \" ' * ") == []  # punctuation only, and no FTS syntax error


def test_search_follows_updates_and_deletes(store: TaskStore, corpus: list[Task]) -> None:
    store.update(corpus[2].id, {"description": "Reconcile payouts", "tags": ["finance"]}, T0 + 1)
    assert _ids(store.search("billing")) == [corpus[3].id]
    assert _ids(store.search("payouts finance")) == [corpus[2].id]
    assert store.delete(corpus[3].id)
    assert store.search("billing") == []


def test_a_task_created_after_a_search_is_found_by_the_next(store: TaskStore, corpus: list[Task],
                                                           make_task: MakeTask) -> None:
    assert _ids(store.search("digest")) == _ids(corpus[:2])
    [late] = store.add([make_task(name="REPORT", description="the monthly digest")])
    assert _ids(store.search("digest")) == [*_ids(corpus[:2]), late]
    [later] = store.add([make_task(name="REPORT", description="one more digest")])
    assert _ids(store.search("digest monthly")) == [late]
    assert _ids(store.search("digest", limit=4)) == [*_ids(corpus[:2]), late, later]


def test_an_updated_task_is_found_by_its_new_words_and_not_its_old_ones(
        store: TaskStore, corpus: list[Task], make_task: MakeTask) -> None:
    """Whether or not a search has seen the task since it was created (SQLite indexes lazily)."""
    assert _ids(store.search("ledger")) == [corpus[2].id]  # corpus[2] is in the index now
    [fresh] = store.add([make_task(name="SYNC", description="Sync receipts to the ledger", tags=["books"])])
    store.update(corpus[2].id, {"description": "Reconcile payouts"}, T0 + 1)
    store.update(fresh, {"description": "Archive refunds", "tags": ["vault"]}, T0 + 1)  # never searched
    assert store.search("ledger") == [] and store.search("receipts") == [] and store.search("books") == []
    assert _ids(store.search("payouts")) == [corpus[2].id]
    assert _ids(store.search("refunds vault")) == [fresh]
    store.update(fresh, {"description": "Archive credits"}, T0 + 2)  # now indexed: changed again
    assert store.search("refunds") == [] and _ids(store.search("credits vault")) == [fresh]


def test_a_deleted_task_is_never_returned(store: TaskStore, corpus: list[Task], make_task: MakeTask) -> None:
    assert _ids(store.search("billing")) == _ids(corpus[2:])  # indexed
    [fresh] = store.add([make_task(name="SYNC", description="billing export")])  # not yet
    assert store.delete(corpus[3].id) and store.delete(fresh)
    assert _ids(store.search("billing")) == [corpus[2].id]
    [again] = store.add([make_task(name="SYNC", description="billing export")])  # after the newest went
    assert _ids(store.search("billing")) == [corpus[2].id, again]
    assert _ids(store.search("export")) == [again]


def test_search_sees_tasks_in_every_state(store: TaskStore, corpus: list[Task]) -> None:
    [claim] = store.claim(["SYNC"], 1, T0, "me", 30.0)
    store.finish([Finish(claim.task.id, claim.token, TaskStatus.SUCCEEDED, result={"n": 1})], T0 + 1)
    [found] = store.search("ledger")
    assert found.status is TaskStatus.SUCCEEDED and found.result == {"n": 1}


@pytest.mark.parametrize(("text", "limit", "field"), [(None, None, "text"), (b"x", None, "text"),
                                                      ("x", -1, "limit"), ("x", True, "limit"),
                                                      ("x", 1.5, "limit")])
def test_bad_search_arguments_are_validation_errors(store: TaskStore, text: object, limit: object,
                                                    field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        store.search(text, limit=limit)  # type: ignore[arg-type]
    assert raised.value.field == field
