"""Property-based fuzzing of the public API and a stateful test of the store contract.

Two hypothesis profiles, registered in ``tests/fuzz/conftest.py`` and applied only to the
tests of this package (never loaded globally, so the rest of the suite keeps its settings):

* ``ci`` (default): bounded, the whole package runs in well under a minute;
* ``slow``: at least 10,000 cases in total, selected with the environment variable
  ``ACTORS_FUZZ_PROFILE=slow``::

      ACTORS_FUZZ_PROFILE=slow python -m pytest tests/fuzz -p no:cacheprovider --hypothesis-show-statistics

Each test asks ``examples(weight)`` for its case count: the profile's ``max_examples``
times ``weight`` (PostgreSQL tests use a smaller weight: every case is a round trip to
the server).
"""
