"""Hypothesis profiles of the fuzz tests (see ``tests/fuzz/__init__.py``).

The profiles are registered here and applied per test through :func:`fuzz_settings`, so
loading this package never changes the settings of hypothesis tests elsewhere.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, settings

#: Cases per unit of weight in each profile.
PROFILES = {"ci": 120, "slow": 700}

for _name, _count in PROFILES.items():
    settings.register_profile(
        f"actors-fuzz-{_name}", max_examples=_count, deadline=None, print_blob=True, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.large_base_example, HealthCheck.filter_too_much],
    )

PROFILE = os.environ.get("ACTORS_FUZZ_PROFILE", "ci")
if PROFILE not in PROFILES:
    raise RuntimeError(f"ACTORS_FUZZ_PROFILE={PROFILE!r}: must be one of {sorted(PROFILES)}")


def fuzz_settings(weight: float = 1.0, **overrides: object) -> settings:
    """The active profile's settings with ``max_examples`` scaled by ``weight``."""
    base = settings.get_profile(f"actors-fuzz-{PROFILE}")
    count = max(1, round(PROFILES[PROFILE] * weight))
    return settings(base, max_examples=count, **overrides)  # type: ignore[arg-type]


#: Runs (``<store> runs``) and steps (``<store> steps``) the stateful store test made in this session:
#: ``run_state_machine_as_test`` has no ``--hypothesis-show-statistics`` line, so the counts are shown
#: at the end of the session instead.
STATEFUL = Counter[str]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if STATEFUL:
        terminalreporter.write_sep("-", f"stateful store test (profile {PROFILE})")
        for name, count in sorted(STATEFUL.items()):
            terminalreporter.write_line(f"{name}: {count}")
