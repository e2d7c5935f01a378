"""Store behaviour on real databases: users, settings, events, votes, history."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC

import pytest
import sqlalchemy as sa

from moodtunes.db.errors import NotFound
from moodtunes.db.records import EventRecord
from moodtunes.db.store import Store

from .seed import record


def count(store: Store, sql: str, **params: object) -> int:
    with store.engine.connect() as connection:
        return connection.execute(sa.text(sql), params).scalar_one()


# -- users -------------------------------------------------------------------------------------


def test_user_id_is_created_once_per_platform(store: Store) -> None:
    first = store.user_id("telegram", "42")
    assert store.user_id("telegram", "42") == first
    assert store.user_id("discord", "42") != first
    assert store.user_id("telegram", "43") != first
    assert count(store, "SELECT count(*) FROM users") == 3


def test_settings_default_empty_and_update_one_key(store: Store) -> None:
    user = store.user_id("console", "me")
    assert store.user_settings(user) == {}
    store.set_user_setting(user, "strategy", "uplift")
    store.set_user_setting(user, "lang", "en")
    store.set_user_setting(user, "strategy", "match")
    assert store.user_settings(user) == {"strategy": "match", "lang": "en"}
    with pytest.raises(LookupError):
        store.user_settings(user + 1000)
    with pytest.raises(LookupError):
        store.set_user_setting(user + 1000, "strategy", "match")


def test_user_id_needs_a_salt(db_url: str) -> None:
    unsalted = Store(db_url, salt="")
    try:
        with pytest.raises(ValueError, match="salt"):
            unsalted.user_id("telegram", "42")
    finally:
        unsalted.close()


# -- events ------------------------------------------------------------------------------------


def test_record_and_get_event(store: Store) -> None:
    user = store.user_id("telegram", "42")
    event_id = record(store, user, probabilities={"happy": 0.75, "sad": 0.25}, track_ids=["a", "b"])
    event = store.get_event(event_id)
    assert isinstance(event, EventRecord)
    assert (event.id, event.user_id, event.source, event.emotion) == (event_id, user, "photo", "happy")
    assert event.probabilities == {"happy": 0.75, "sad": 0.25}
    assert (event.mood, event.strategy, event.model_version, event.faces) == ("joyful", "match", "v1", 1)
    assert event.track_ids == ("a", "b")
    assert event.created_at.tzinfo == UTC
    assert store.get_event(event_id + 1000) is None


def test_record_event_accepts_numpy_like_numbers(store: Store) -> None:
    class Scalar(float):  # stands in for numpy.float32: a number that is not a plain float
        pass

    user = store.user_id("telegram", "42")
    event_id = record(store, user, probabilities={"happy": Scalar(0.5)})
    assert type(store.get_event(event_id).probabilities["happy"]) is float


def test_mood_event_without_emotion(store: Store) -> None:
    user = store.user_id("telegram", "42")
    event_id = record(store, user, source="mood", emotion=None, probabilities=None, model_version=None, faces=0)
    event = store.get_event(event_id)
    assert (event.source, event.emotion, event.probabilities, event.model_version, event.faces) == (
        "mood",
        None,
        None,
        None,
        0,
    )


def test_page_event_appends_what_pick_chose_and_returns_its_result(store: Store) -> None:
    user = store.user_id("telegram", "42")
    event_id = record(store, user, track_ids=["a", "b"])
    assert store.page_event(event_id, lambda event: (["c", "d"], event.track_ids)) == ("a", "b")
    store.page_event(event_id, lambda event: (["a"], None))  # a new round may repeat an earlier track
    assert store.get_event(event_id).track_ids == ("a", "b", "c", "d", "a")
    with pytest.raises(NotFound):
        store.page_event(event_id + 1000, lambda event: (["x"], None))


def test_concurrent_pages_are_disjoint(store: Store) -> None:
    """Defect 3 at the storage level, on SQLite and PostgreSQL: every pick sees the pages before it, so eight
    pagers started together (a barrier) never choose the same next track."""
    user = store.user_id("telegram", "42")
    event_id = record(store, user, track_ids=[])
    catalog = [f"t{i:02d}" for i in range(40)]
    start = threading.Barrier(8)

    def next_unseen(event):
        return [next(t for t in catalog if t not in event.track_ids)], None

    def page(_: int) -> None:
        start.wait(timeout=30)
        store.page_event(event_id, next_unseen)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(page, range(8)))
    assert store.get_event(event_id).track_ids == tuple(catalog[:8])


def test_find_user_id_never_creates_a_user(store: Store) -> None:
    assert store.find_user_id("telegram", "42") is None
    assert store.find_user_id("telegram", "42") is None
    created = store.user_id("telegram", "42")
    assert store.find_user_id("telegram", "42") == created


def test_history_is_newest_first_and_limited(store: Store) -> None:
    user = store.user_id("telegram", "42")
    other = store.user_id("telegram", "43")
    ids = [record(store, user, mood=f"mood{i}") for i in range(4)]
    record(store, other)
    history = store.history(user, limit=3)
    assert [e.id for e in history] == ids[::-1][:3]
    assert [e.mood for e in history] == ["mood3", "mood2", "mood1"]
    assert len(store.history(user)) == 4
    assert store.history(store.user_id("telegram", "44")) == []


# -- votes -------------------------------------------------------------------------------------


def test_second_press_changes_the_vote_in_one_row(store: Store) -> None:
    user = store.user_id("telegram", "42")
    event_id = record(store, user)
    store.vote(event_id, user, "t1", 1)
    store.vote(event_id, user, "t1", -1)
    with store.engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT value, created_at, updated_at FROM feedback WHERE track_id = 't1'")
        ).all()
    assert len(rows) == 1
    value, created_at, updated_at = rows[0]
    assert value == -1
    assert str(updated_at) > str(created_at)  # same format on each backend, so the strings compare
    store.vote(event_id, user, "t1", -1)  # the same press again: still one row
    assert count(store, "SELECT count(*) FROM feedback") == 1


def test_votes_of_different_users_are_separate_rows(store: Store) -> None:
    alice, bob = store.user_id("telegram", "1"), store.user_id("telegram", "2")
    event_id = record(store, alice)
    store.vote(event_id, alice, "t1", 1)
    store.vote(event_id, bob, "t1", -1)
    assert count(store, "SELECT count(*) FROM feedback") == 2
    assert store.liked_track_ids(alice) == ["t1"]
    assert store.disliked_track_ids(bob) == {"t1"}


@pytest.mark.parametrize("value", [0, 2, -2, True])
def test_vote_rejects_values_other_than_plus_minus_one(store: Store, value: int) -> None:
    user = store.user_id("telegram", "42")
    event_id = record(store, user)
    with pytest.raises(ValueError):
        store.vote(event_id, user, "t1", value)
    assert count(store, "SELECT count(*) FROM feedback") == 0


def test_vote_on_unknown_event_or_user(store: Store) -> None:
    user = store.user_id("telegram", "42")
    event_id = record(store, user)
    with pytest.raises(LookupError):
        store.vote(event_id + 1000, user, "t1", 1)
    with pytest.raises(LookupError):
        store.vote(event_id, user + 1000, "t1", 1)


def test_database_check_constraint_rejects_other_values(store: Store) -> None:
    user = store.user_id("telegram", "42")
    event_id = record(store, user)
    with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO feedback (event_id, user_id, track_id, value, created_at, updated_at) "
                "VALUES (:e, :u, 't1', 2, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"e": event_id, "u": user},
        )


def test_liked_and_disliked_follow_the_latest_vote_per_track(store: Store) -> None:
    user = store.user_id("telegram", "42")
    first = record(store, user, track_ids=["a", "b", "c", "d"])
    second = record(store, user, track_ids=["a", "e"])
    store.vote(first, user, "a", 1)
    store.vote(first, user, "b", 1)
    store.vote(first, user, "c", -1)
    store.vote(first, user, "d", 1)
    store.vote(second, user, "a", -1)  # a later answer: "a" is now disliked
    store.vote(second, user, "e", 1)
    store.vote(first, user, "d", -1)  # changed on the same answer
    store.vote(first, user, "b", 1)  # pressed again: b is the most recent like
    assert store.disliked_track_ids(user) == {"a", "c", "d"}
    assert store.liked_track_ids(user) == ["b", "e"]
    store.vote(first, user, "c", 1)  # back to liked
    assert store.liked_track_ids(user) == ["c", "b", "e"]
    assert store.disliked_track_ids(user) == {"a", "d"}
    assert store.liked_track_ids(store.user_id("telegram", "43")) == []
    assert store.disliked_track_ids(store.user_id("telegram", "43")) == set()


def test_deleting_an_event_cascades_to_its_votes(store: Store) -> None:
    user = store.user_id("telegram", "42")
    event_id = record(store, user)
    store.vote(event_id, user, "t1", 1)
    with store.engine.begin() as connection:  # foreign keys enforced on SQLite too
        connection.execute(sa.text("DELETE FROM recommendation_events WHERE id = :e"), {"e": event_id})
    assert count(store, "SELECT count(*) FROM feedback") == 0
