"""SQLite engine settings and the "database is locked" retry."""

from __future__ import annotations

import logging
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from moodtunes.db.engine import BUSY_TIMEOUT_MS, make_engine
from moodtunes.db.retry import ATTEMPTS, is_locked_error, retry_locked
from moodtunes.db.store import Store

from .seed import SALT


@pytest.fixture
def sqlite_store(tmp_path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'moodtunes.sqlite3'}", salt=SALT)
    store.upgrade()
    yield store
    store.close()


def test_sqlite_file_is_created_in_a_new_folder_in_wal_mode(tmp_path, sqlite_store: Store) -> None:
    path = tmp_path / "nested" / "dir" / "moodtunes.sqlite3"
    assert path.is_file()
    with sqlite3.connect(path) as raw:  # WAL is a property of the file, seen by any client
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_every_sqlite_connection_gets_the_pragmas(sqlite_store: Store) -> None:
    with sqlite_store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == BUSY_TIMEOUT_MS
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1


def test_foreign_keys_are_back_on_after_migrating(tmp_path) -> None:
    # The migration switches them off on its connection; the pool must not hand that connection out so.
    store = Store(f"sqlite:///{tmp_path / 'one.sqlite3'}", salt=SALT)
    try:
        store.upgrade()
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    finally:
        store.close()


def test_in_memory_sqlite_is_one_database_for_all_threads() -> None:
    store = Store("sqlite://", salt=SALT)
    try:
        store.upgrade()
        user = store.user_id("console", "me")
        with ThreadPoolExecutor(max_workers=2) as pool:
            assert pool.submit(store.user_id, "console", "me").result() == user
    finally:
        store.close()


def test_other_urls_pass_through() -> None:
    engine = make_engine("postgresql+psycopg://someone:secret@db.invalid:5432/app?sslmode=require")
    try:
        assert engine.dialect.name == "postgresql"
        assert engine.url.query == {"sslmode": "require"}
        assert engine.url.password == "secret"
    finally:
        engine.dispose()


def test_a_write_waits_for_a_briefly_held_lock(tmp_path, sqlite_store: Store) -> None:
    user = sqlite_store.user_id("telegram", "42")
    locker = sqlite3.connect(
        tmp_path / "nested" / "dir" / "moodtunes.sqlite3", isolation_level=None, check_same_thread=False
    )
    locker.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    release = threading.Timer(0.3, locker.execute, args=("COMMIT",))
    release.start()
    try:
        sqlite_store.set_user_setting(user, "strategy", "uplift")  # waits on busy_timeout, no error
    finally:
        release.join()
        locker.close()
    assert sqlite_store.user_settings(user) == {"strategy": "uplift"}


def test_real_locked_error_is_recognised(tmp_path) -> None:
    path = tmp_path / "locked.sqlite3"
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("CREATE TABLE t (x INTEGER)")
    locker.execute("BEGIN IMMEDIATE")
    impatient = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    try:
        with pytest.raises(OperationalError) as caught, impatient.begin() as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        assert is_locked_error(caught.value)
    finally:
        impatient.dispose()
        locker.close()


def _locked() -> OperationalError:
    return OperationalError("INSERT INTO feedback ...", {}, sqlite3.OperationalError("database is locked"))


def test_retry_succeeds_after_transient_locks(caplog: pytest.LogCaptureFixture) -> None:
    outcomes = [_locked(), _locked(), "done"]
    sleeps: list[float] = []

    def operation() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    with caplog.at_level(logging.WARNING, logger="moodtunes.db"):
        assert retry_locked(operation, what="vote", sleep=sleeps.append) == "done"
    assert len(sleeps) == 2 and sleeps[0] < sleeps[1]  # backoff grows
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.WARNING]
    assert f"vote attempt 1/{ATTEMPTS}" in caplog.records[0].getMessage()


def test_retry_gives_up_with_a_precise_log_line(caplog: pytest.LogCaptureFixture) -> None:
    calls = 0

    def operation() -> None:
        nonlocal calls
        calls += 1
        raise _locked()

    with caplog.at_level(logging.WARNING, logger="moodtunes.db"), pytest.raises(OperationalError):
        retry_locked(operation, what="record_event", attempts=3, sleep=lambda _s: None)
    assert calls == 3
    final = caplog.records[-1]
    assert final.levelno == logging.ERROR and final.name == "moodtunes.db"
    assert final.getMessage().startswith("database is locked: record_event failed after 3 attempts in ")
    assert final.getMessage().endswith("s; giving up")


def test_other_operational_errors_are_not_retried() -> None:
    calls = 0

    def operation() -> None:
        nonlocal calls
        calls += 1
        raise OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: users"))

    with pytest.raises(OperationalError):
        retry_locked(operation, what="vote", sleep=lambda _s: pytest.fail("must not sleep"))
    assert calls == 1


def test_sql_errors_never_show_bound_values(store: Store) -> None:
    """Bound values are user hashes, probabilities and settings: SQL errors (and so logs) must not print them,
    on SQLite and PostgreSQL alike."""
    assert store.engine.hide_parameters
    user = store.user_id("telegram", "42")
    secret = "a1b2c3d4e5f6-user-hash-that-must-not-leak"
    duplicate = sa.text("INSERT INTO users (id, platform, user_hash, settings, created_at) "
                        "VALUES (:id, 'telegram', :hash, '{}', CURRENT_TIMESTAMP)")
    with pytest.raises(sa.exc.IntegrityError) as caught, store.engine.begin() as connection:
        connection.execute(duplicate, {"id": user, "hash": secret})
    assert secret not in str(caught.value) and "parameters hidden" in str(caught.value)
