"""Acceptance tests: one test per row of the README's seed feature tables, written against the
public API only (``import actors``, ``actors.testing`` and its pytest plugin's ``supervisor``
fixture)."""
