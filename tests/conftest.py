"""Suite-wide fixtures: no actor outlives the test that started it."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pykka
import pytest


@pytest.fixture(autouse=True)
def _stop_leftover_actors() -> Iterator[None]:
    """Stop actors a test left running (a failed test must not hang the interpreter's exit)."""
    before = {ref.actor_urn for ref in pykka.ActorRegistry.get_all()}
    yield
    leftovers = [ref for ref in pykka.ActorRegistry.get_all() if ref.actor_urn not in before]
    for ref in leftovers:
        logging.getLogger("tests").warning("stopping leftover actor %s", ref)
        ref.stop(block=False)
