"""Storage faults: a read-only or locked database never costs the user an answer, and is logged precisely."""

from __future__ import annotations

import logging
import sqlite3
import threading

import pytest
from sqlalchemy import text

from bot.service import NOT_SAVED, VOTE_NOT_SAVED, AnswerKind, ChatService
from db.store import Store


@pytest.fixture
def sqlite_store(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'db' / 'moodtunes.sqlite3'}", salt="test-salt")
    store.upgrade()
    yield store
    store.close()


def test_read_only_database_still_answers_and_logs(pipeline, sqlite_store, tmp_path, astronaut_jpeg, caplog):
    ChatService(pipeline, sqlite_store).handle_photo("console", "carol", astronaut_jpeg)  # carol exists
    # The same file opened read-only (as after a full disk or a permissions mistake): every write fails.
    path = tmp_path / "db" / "moodtunes.sqlite3"
    read_only = Store(f"sqlite:///file:{path}?mode=ro&uri=true", salt="test-salt")
    service = ChatService(pipeline, read_only, photos_per_minute=100)
    with caplog.at_level(logging.ERROR, logger="moodtunes"):
        answer = service.handle_photo("console", "carol", astronaut_jpeg)
    assert answer.kind is AnswerKind.TRACKS and len(answer.tracks) == 5 and NOT_SAVED in answer.text
    assert answer.event_id is None
    assert any("readonly" in r.getMessage() for r in caplog.records)
    # Nothing was half-written.
    with sqlite_store.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM recommendation_events")).scalar() == 1
    read_only.close()


def test_locked_database_still_answers_and_vote_is_retried(pipeline, sqlite_store, tmp_path, astronaut_jpeg, caplog,
                                                           monkeypatch):
    import db.retry

    monkeypatch.setattr(db.retry, "ATTEMPTS", 2, raising=False)
    service = ChatService(pipeline, sqlite_store, photos_per_minute=100)
    answer = service.handle_photo("console", "dave", astronaut_jpeg)
    track = answer.tracks[0].id

    # Another process holds the write lock for longer than the busy timeout and the retries.
    locker = sqlite3.connect(tmp_path / "db" / "moodtunes.sqlite3", timeout=0, check_same_thread=False)
    locker.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(30, locker.rollback)
    release.start()
    try:
        with caplog.at_level(logging.WARNING):
            toast = service.handle_vote("console", "dave", answer.event_id, track, 1)
        assert toast.text == VOTE_NOT_SAVED
        assert any("vote not stored" in r.message for r in caplog.records)
        assert any("locked" in r.getMessage().lower() for r in caplog.records)
    finally:
        release.cancel()
        locker.rollback()
        locker.close()
    # Lock gone: pressing again stores exactly one vote.
    assert service.handle_vote("console", "dave", answer.event_id, track, 1).text.startswith("👍")
    with sqlite_store.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*), MAX(value) FROM feedback")).one() == (1, 1)
