"""``examples/agent_loop.py`` runs: an asyncio agent embedding a node, its thread workers using
the agent's in-process state, its events followed with ``async for``."""

from __future__ import annotations

from tests.integration.test_examples_and_drains import run_example


def test_the_agent_loop_example_summarizes_remembers_and_follows_its_events() -> None:
    out = run_example("agent_loop.py")
    summaries = "['Actors are small.', 'Supervisors restart what fails.', 'The event loop never waits.']"
    assert f"summaries: {summaries}" in out
    assert f"agent memory: {summaries}" in out  # the thread workers wrote the agent's own list
    assert "events: created x3, started x3, succeeded x3" in out
