"""Alembic, configured in code (no alembic.ini): ``upgrade(engine)`` brings a database to head."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from moodtunes.db.engine import for_writes

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Replicas starting together on one PostgreSQL database would each run the migrations and collide (duplicate
# CREATE TABLE, UniqueViolation on alembic_version). A transaction-level advisory lock, keyed by the schema the
# migrations go to, makes them take turns: the first migrates, the others find the database at head and do nothing.
_MIGRATION_LOCK = "SELECT pg_advisory_xact_lock(hashtext('moodtunes.migrate:' || coalesce(current_schema(), '')))"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config whose ``script_location`` is ``db/migrations``.

    ``url`` is only needed for commands run without a connection (e.g. offline SQL);
    ``upgrade`` passes its live connection instead.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolation would eat the "%" of URL-encoded characters.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run ``alembic upgrade <revision>`` on ``engine``'s database, in one transaction; on PostgreSQL under an
    advisory lock, so several processes may call it at once (SQLite's BEGIN already serialises writers)."""
    config = alembic_config()
    with for_writes(engine).connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # With foreign keys on, the table copies of SQLite batch migrations would fire
            # ON DELETE CASCADE on DROP TABLE and wipe child rows. The pragma is ignored inside a
            # transaction, so it goes straight to the driver before SQLAlchemy begins one.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.exec_driver_sql(_MIGRATION_LOCK)  # released at commit or rollback
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left rows with dangling foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                # This pooled connection is reused by the application, which relies on foreign keys.
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
