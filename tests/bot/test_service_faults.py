"""Storage faults: a read-only or locked database never costs the user an answer, and is logged precisely."""

from __future__ import annotations

import ast
import logging
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from moodtunes import bot
from moodtunes.bot.console import ConsoleChat
from moodtunes.bot.service import MEMORY_UNAVAILABLE, NOT_SAVED, VOTE_NOT_SAVED, AnswerKind, ChatService
from moodtunes.core import messages
from moodtunes.db.identity import hash_user_id
from moodtunes.db.store import Store
from tests.helpers import capture_logs

SPOTIFY = "https://open.spotify.com/track/"
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/test"  # nothing listens on port 1: connection refused


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
    from moodtunes.db import retry as db_retry

    monkeypatch.setattr(db_retry, "ATTEMPTS", 2, raising=False)
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


# --- regressions of issue 13 ---------------------------------------------------------------------------------
@pytest.fixture(params=["read-only", "unreachable"])
def broken_store(request, sqlite_store, tmp_path):
    """The database a chat was using, now failing: the same SQLite file opened read-only, or a server that is
    gone."""
    if request.param == "read-only":
        path = tmp_path / "db" / "moodtunes.sqlite3"
        broken = Store(f"sqlite:///file:{path}?mode=ro&uri=true", salt="test-salt")
    else:
        broken = Store(UNREACHABLE, salt="test-salt")
    yield request.param, broken
    broken.close()


def test_every_command_degrades_the_same_way_without_the_database(pipeline, sqlite_store, broken_store, tmp_path,
                                                                   astronaut_jpeg):
    """Defect 7: photos were answered, but /mood, /settings and More raised and the user got the generic
    apology. Now: songs without personalisation where songs are asked for, one sentence otherwise, one log line
    (no traceback) for the admin — and the same on every front end, since all of it is ChatService's."""
    kind, broken = broken_store
    selfie = tmp_path / "me.jpg"
    selfie.write_bytes(astronaut_jpeg)
    out: list[str] = []
    chat = ConsoleChat(ChatService(pipeline, sqlite_store), "erin", out.append)
    chat.handle(str(selfie))  # an answer with buttons, while the database still works
    assert chat.last.event_id is not None
    chat.service = ChatService(pipeline, broken, photos_per_minute=100)

    def say(line: str) -> str:
        out.clear()
        chat.handle(line)
        return "\n".join(out)

    with capture_logs("moodtunes", logging.ERROR) as errors:
        more, vote, setting, lift = say("more"), say("+1"), say("/settings uplift"), say("lift")
        assert more == setting == MEMORY_UNAVAILABLE  # they must write
        assert vote == VOTE_NOT_SAVED
        if kind == "read-only":  # the answer can still be read: its other strategy's songs, not stored
            assert lift.count(SPOTIFY) == 5 and NOT_SAVED in lift
        else:
            assert lift == MEMORY_UNAVAILABLE
        for line in (str(selfie), "/mood calm"):
            answer = say(line)
            assert answer.count(SPOTIFY) == 5 and NOT_SAVED in answer, line
        others = [say(line) for line in ("/settings", "/history", "/mydata", "/forgetme", "yes")]
    everything = [more, lift, vote, setting, *others]
    assert not any(messages.SOMETHING_WENT_WRONG in said for said in everything)
    if kind == "unreachable":  # reads fail too
        assert others[:3] == [MEMORY_UNAVAILABLE] * 3 and others[4] == MEMORY_UNAVAILABLE
    assert errors and all(r.exc_info is None and "\n" not in r.getMessage() for r in errors)  # one line each
    assert all(r.getMessage().startswith("storage unavailable, ") for r in errors)


def test_the_service_and_adapters_know_no_database_library():
    """Defect 7: storage errors reach the conversation as the store's own errors (db.errors)."""
    for module in sorted(Path(bot.__file__).parent.glob("*.py")):
        tree = ast.parse(module.read_text())
        names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        names |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not {n for n in names if n.split(".")[0] == "sqlalchemy"}, module.name


def test_sql_errors_in_the_logs_show_no_user_hashes_or_probabilities(pipeline, sqlite_store, tmp_path,
                                                                     astronaut_jpeg):
    """Defect 9: a failed INSERT logged its parameters — the user's hash, the emotion probabilities."""
    selfie = tmp_path / "me.jpg"
    selfie.write_bytes(astronaut_jpeg)
    ChatService(pipeline, sqlite_store).handle_photo("console", "carol", astronaut_jpeg)  # carol exists
    read_only = Store(f"sqlite:///file:{tmp_path / 'db' / 'moodtunes.sqlite3'}?mode=ro&uri=true", salt="test-salt")
    service = ChatService(pipeline, read_only, photos_per_minute=100)
    with capture_logs() as records:
        for user in ("carol", "frank"):  # an INSERT of an event (probabilities), an INSERT of a user (hash)
            out: list[str] = []
            ConsoleChat(service, user, out.append).handle(str(selfie))
            assert NOT_SAVED in "\n".join(out)
    read_only.close()
    logged = "\n".join(logging.Formatter("%(message)s").format(r) for r in records)
    assert "readonly" in logged  # the failures were logged ...
    for user in ("carol", "frank"):
        assert hash_user_id("test-salt", user) not in logged  # ... without the parameters
    assert '"happy": ' not in logged and "[parameters:" not in logged


def test_duplicate_check_without_the_database_handles_the_update_and_logs_once(pipeline, caplog):
    down = Store(UNREACHABLE, salt="test-salt")
    service = ChatService(pipeline, down)
    with caplog.at_level(logging.INFO, logger="moodtunes"):
        assert service.first_delivery("telegram", 77, bot_id=4242) is True  # answered rather than lost
    lines = [r for r in caplog.records if r.name.startswith("moodtunes")]
    assert len(lines) == 1 and lines[0].levelno == logging.ERROR
    assert "update 77 handled without the duplicate check" in lines[0].getMessage()
    down.close()


def test_duplicate_check_drops_the_second_delivery(pipeline, sqlite_store):
    service = ChatService(pipeline, sqlite_store)
    assert [service.first_delivery("telegram", 5, bot_id=1) for _ in range(2)] == [True, False]
    assert service.first_delivery("telegram", 5, bot_id=2) is True  # another bot's update 5
