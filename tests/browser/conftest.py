"""Fixtures of the browser tests (``harness.py`` says how each is built): one Chromium per
session, a served node and a fresh page per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import Served, chromium_path, missing, serve


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Debian Chromium per test module (skipped, or failed in CI, without one).

    Not for the session: Playwright's sync API keeps an asyncio loop running in the main thread
    while it is started, which would make every later test of the run see a running event loop."""
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()


@pytest.fixture
def served(tmp_path: Path, browser: Any) -> Iterator[Served]:
    """A node and its dashboard, served on a free port (``harness.serve``)."""
    with serve(tmp_path) as node:
        yield node


@pytest.fixture
def page(browser: Any, served: Served) -> Iterator[Any]:
    """A fresh browser context (its own sessionStorage) and page in the light colour scheme;
    the test fails if the page raised a JavaScript error."""
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)  # a loaded machine: bounded waits, never a sleep
    context = browser.new_context(viewport={"width": 1360, "height": 900}, color_scheme="light")
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert errors == [], f"the page raised: {errors}"
