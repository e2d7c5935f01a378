"""Fixtures for the db tests: every store test runs on a real SQLite file and on real PostgreSQL.

PostgreSQL: ``MOODTUNES_TEST_POSTGRES_URL`` (default: the local server, database ``test``). Each
test gets a fresh schema, selected through ``search_path`` in the URL's connect options, and the
schema is dropped afterwards. An unreachable server fails these tests; it never skips them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from moodtunes.db.store import Store
from tests.helpers import postgres_schema

from .seed import SALT


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A URL to an empty database of each kind (SQLite in a folder that does not exist yet)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'moodtunes.sqlite3'}"
    else:
        with postgres_schema() as url:
            yield url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated store on each backend (overrides the SQLite-only ``store`` of tests/conftest.py)."""
    built = Store(db_url, salt=SALT)
    built.upgrade()
    try:
        yield built
    finally:
        built.close()
