"""Privacy: only salted hashes are stored; a user can export and erase everything about them."""

from __future__ import annotations

import hashlib
import hmac
import json

import sqlalchemy as sa

from moodtunes.db.store import Store

from .seed import SALT, record

RAW_ID = "987654321"  # distinctive, so any leak into a column is found by substring search


def all_rows(store: Store) -> dict[str, list[dict]]:
    inspector = sa.inspect(store.engine)
    with store.engine.connect() as connection:
        return {
            table: [dict(row._mapping) for row in connection.execute(sa.text(f"SELECT * FROM {table}"))]
            for table in inspector.get_table_names()
        }


def counts_for(store: Store, user_id: int, event_ids: list[int]) -> dict[str, int]:
    """Rows in each table that belong to this user or point at one of their events."""
    feedback = sa.text("SELECT count(*) FROM feedback WHERE user_id = :u OR event_id IN :events").bindparams(
        sa.bindparam("events", expanding=True)
    )
    with store.engine.connect() as connection:

        def scalar(sql: str) -> int:
            return connection.execute(sa.text(sql), {"u": user_id}).scalar_one()

        return {
            "users": scalar("SELECT count(*) FROM users WHERE id = :u"),
            "recommendation_events": scalar("SELECT count(*) FROM recommendation_events WHERE user_id = :u"),
            "feedback": connection.execute(feedback, {"u": user_id, "events": event_ids}).scalar_one(),
        }


def test_only_the_salted_hash_is_stored(store: Store) -> None:
    user = store.user_id("telegram", RAW_ID)
    store.set_user_setting(user, "strategy", "uplift")
    event_id = record(store, user)
    store.vote(event_id, user, "t1", 1)
    rows = all_rows(store)
    dump = json.dumps(rows, default=str)
    assert RAW_ID not in dump
    expected = hmac.new(SALT.encode(), RAW_ID.encode(), hashlib.sha256).hexdigest()
    assert [(r["platform"], r["user_hash"]) for r in rows["users"]] == [("telegram", expected)]


def test_hash_depends_on_the_salt(db_url: str, store: Store) -> None:
    other = Store(db_url, salt="another-salt")
    try:
        store.user_id("telegram", RAW_ID)
        other.user_id("telegram", RAW_ID)  # same database, different salt: a different user
        assert len(all_rows(store)["users"]) == 2
    finally:
        other.close()


def test_export_user_has_everything(store: Store) -> None:
    alice = store.user_id("telegram", RAW_ID)
    bob = store.user_id("telegram", "5555")
    store.set_user_setting(alice, "strategy", "uplift")
    first = record(store, alice, track_ids=["a", "b"])
    second = record(store, alice, source="mood", emotion=None, probabilities=None, mood="calm", track_ids=["c"])
    store.page_event(first, lambda event: (["d"], None))
    store.vote(first, alice, "a", 1)
    store.vote(second, alice, "c", -1)
    bobs = record(store, bob, track_ids=["x"])
    store.vote(bobs, alice, "x", 1)  # alice's vote on bob's answer is alice's data
    store.vote(first, bob, "b", -1)  # bob's vote on alice's answer is bob's data

    data = store.export_user("telegram", RAW_ID)
    assert json.loads(json.dumps(data)) == data  # JSON-serialisable as is
    assert RAW_ID not in json.dumps(data)
    user = data["user"]
    assert (user["id"], user["platform"], user["settings"]) == (alice, "telegram", {"strategy": "uplift"})
    assert user["user_hash"] == next(r["user_hash"] for r in all_rows(store)["users"] if r["id"] == alice)
    assert [e["id"] for e in data["events"]] == [first, second]
    assert data["events"][0]["track_ids"] == ["a", "b", "d"]
    assert data["events"][0]["probabilities"] == {"happy": 0.8, "neutral": 0.2}
    assert data["events"][1]["mood"] == "calm"
    assert [(v["event_id"], v["track_id"], v["value"]) for v in data["feedback"]] == [
        (first, "a", 1),
        (second, "c", -1),
        (bobs, "x", 1),
    ]
    assert store.export_user("telegram", "never-seen") == {"user": None, "events": [], "feedback": []}
    assert store.export_user("discord", RAW_ID)["user"] is None  # platform is part of the identity


def test_forget_user_removes_every_row_of_that_user_only(store: Store) -> None:
    alice = store.user_id("telegram", RAW_ID)
    bob = store.user_id("telegram", "5555")
    alices = [record(store, alice, track_ids=["a", "b"]), record(store, alice, track_ids=["c"])]
    store.vote(alices[0], alice, "a", 1)
    store.vote(alices[1], alice, "c", -1)
    bobs = record(store, bob, track_ids=["x", "y"])
    store.vote(bobs, bob, "x", 1)
    store.vote(bobs, alice, "y", -1)  # alice's vote on bob's answer
    store.vote(alices[0], bob, "b", 1)  # bob's vote on alice's answer goes with the answer
    assert counts_for(store, alice, alices) == {"users": 1, "recommendation_events": 2, "feedback": 4}
    bob_before = store.export_user("telegram", "5555")

    assert store.forget_user("telegram", RAW_ID) == 1 + 2 + 4

    assert counts_for(store, alice, alices) == {"users": 0, "recommendation_events": 0, "feedback": 0}
    bob_after = store.export_user("telegram", "5555")
    assert bob_after["user"] == bob_before["user"]
    assert bob_after["events"] == bob_before["events"]
    assert [v["track_id"] for v in bob_after["feedback"]] == ["x"]  # only his vote on alice's answer went
    assert store.liked_track_ids(bob) == ["x"]
    assert store.forget_user("telegram", RAW_ID) == 0  # nothing left
    assert store.forget_user("telegram", "never-seen") == 0
    assert store.user_settings(store.user_id("telegram", RAW_ID)) == {}  # a comeback starts from scratch
