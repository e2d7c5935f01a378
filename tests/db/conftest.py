"""Fixtures for the db tests: every store test runs on a real SQLite file and on real PostgreSQL.

PostgreSQL: ``MOODTUNES_TEST_POSTGRES_URL`` (default: the local server, database ``test``). Each
test gets a fresh schema, selected through ``search_path`` in the URL's connect options, and the
schema is dropped afterwards. An unreachable server fails these tests; it never skips them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from moodtunes.db.store import Store

from .seed import SALT

POSTGRES_URL = os.environ.get("MOODTUNES_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A URL to an empty database of each kind (SQLite in a folder that does not exist yet)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'moodtunes.sqlite3'}"
    else:
        yield from _postgres_schema_url()


def _postgres_schema_url() -> Iterator[str]:
    schema = f"mt_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.fail(f"PostgreSQL is required for these tests and is not reachable at {POSTGRES_URL}: {exc}")
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """A migrated store on each backend (overrides the SQLite-only ``store`` of tests/conftest.py)."""
    built = Store(db_url, salt=SALT)
    built.upgrade()
    try:
        yield built
    finally:
        built.close()
