"""Alembic: the hand-written migrations build exactly the schema of db.models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from moodtunes.db import migrate
from moodtunes.db.engine import make_engine
from moodtunes.db.models import Base
from moodtunes.db.store import Store

from .seed import SALT

TABLES = {"users", "recommendation_events", "feedback", "processed_updates"}


def test_upgrade_on_empty_database_creates_the_tables(db_url: str) -> None:
    store = Store(db_url, salt=SALT)
    try:
        assert set(sa.inspect(store.engine).get_table_names()) == set()
        store.upgrade()
        assert set(sa.inspect(store.engine).get_table_names()) == TABLES | {"alembic_version"}
        with store.engine.connect() as connection:
            version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
            assert version == "0002_processed_updates"
        store.upgrade()  # at head already: a no-op, not an error
    finally:
        store.close()


def test_migration_matches_the_models(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_constraints_exist(store: Store) -> None:
    inspector = sa.inspect(store.engine)
    assert {tuple(u["column_names"]) for u in inspector.get_unique_constraints("users")} == {("platform", "user_hash")}
    assert {tuple(u["column_names"]) for u in inspector.get_unique_constraints("feedback")} == {
        ("event_id", "user_id", "track_id")
    }
    cascades = {
        (table, fk["referred_table"], fk["options"].get("ondelete"))
        for table in ("recommendation_events", "feedback")
        for fk in inspector.get_foreign_keys(table)
    }
    assert cascades == {
        ("recommendation_events", "users", "CASCADE"),
        ("feedback", "recommendation_events", "CASCADE"),
        ("feedback", "users", "CASCADE"),
    }


def test_downgrade_to_base_and_back(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        migrate.upgrade(engine)
        config = migrate.alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(engine)
        assert set(sa.inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()
