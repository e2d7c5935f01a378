"""Engine factory: SQLite gets WAL, a busy timeout, foreign keys and real transactions; other URLs pass through."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

BUSY_TIMEOUT_MS = 2000
# SQL errors and logs must not print bound values: they are user hashes, probabilities and settings.
HIDE_PARAMETERS = True
_BEGIN_IMMEDIATE = "moodtunes_begin_immediate"  # execution option read by the SQLite "begin" hook


def is_sqlite(url: str | URL) -> bool:
    """True when the URL names a SQLite database (any driver)."""
    return make_url(url).get_backend_name() == "sqlite"


def _is_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or "mode=memory" in database


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``.

    Every engine hides bound parameters in its errors and logs. For SQLite: the parent folder of a file
    database is created, and every connection gets ``journal_mode=WAL``, ``busy_timeout=2000`` and
    ``foreign_keys=ON``. Any other URL (e.g. ``postgresql+psycopg://...``) is handed to SQLAlchemy as it is.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, hide_parameters=HIDE_PARAMETERS)

    memory = _is_memory(parsed)
    if memory:
        # One shared connection, or each thread (asyncio.to_thread) would see its own empty database.
        # Good for tests and the console; concurrent writers need a file or a server.
        engine = create_engine(parsed, poolclass=StaticPool, connect_args={"check_same_thread": False},
                               hide_parameters=HIDE_PARAMETERS)
    else:
        database = parsed.database or ""
        if not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, hide_parameters=HIDE_PARAMETERS)
    _configure_sqlite(engine, wal=not memory)
    return engine


def for_writes(engine: Engine) -> Engine:
    """The same engine and pool, but SQLite transactions take the write lock at BEGIN (IMMEDIATE).

    A deferred transaction that reads and then writes fails at once with "database is locked"
    when another writer committed in between; taking the lock up front makes writers queue on
    busy_timeout instead. No effect on other databases.
    """
    return engine.execution_options(**{_BEGIN_IMMEDIATE: True})


def _configure_sqlite(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        # pysqlite's own transaction handling starts transactions late (only before DML), so a
        # read-modify-write would read outside its transaction. Autocommit at the driver level plus
        # an explicit BEGIN below gives SQLite real transactions (the SQLAlchemy-documented recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")  # first, so the WAL switch may wait
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        immediate = connection.get_execution_options().get(_BEGIN_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
