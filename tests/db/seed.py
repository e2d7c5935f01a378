"""Small real data sets shared by the db tests."""

from __future__ import annotations

from typing import Any

from moodtunes.db.store import Store

SALT = "test-salt"  # the user-id salt of every db test store


def record(store: Store, user_id: int, **overrides: Any) -> int:
    """Record an event with sensible defaults (a happy photo, matched, three tracks)."""
    fields: dict[str, Any] = {
        "source": "photo",
        "emotion": "happy",
        "probabilities": {"happy": 0.8, "neutral": 0.2},
        "mood": "joyful",
        "strategy": "match",
        "model_version": "v1",
        "faces": 1,
        "track_ids": ["t1", "t2", "t3"],
    }
    fields.update(overrides)
    return store.record_event(user_id, **fields)


def seed_feedback(store: Store) -> None:
    """Seven current votes over three events; expected summary in tests/db/test_report.py."""
    alice = store.user_id("telegram", "1001")
    bob = store.user_id("discord", "2002")
    happy = record(store, alice, track_ids=["t1", "t2", "t3"])
    store.vote(happy, alice, "t1", 1)
    store.vote(happy, alice, "t2", 1)
    store.vote(happy, alice, "t3", -1)
    store.vote(happy, bob, "t1", -1)
    sad = record(
        store, alice, emotion="sad", probabilities={"sad": 0.9}, mood="calm", strategy="uplift", track_ids=["t4"]
    )
    store.vote(sad, alice, "t4", 1)
    by_hand = record(
        store,
        bob,
        source="mood",
        emotion=None,
        probabilities=None,
        mood="joyful",
        model_version=None,
        faces=0,
        track_ids=["t5", "t6"],
    )
    store.vote(by_hand, bob, "t5", -1)
    store.vote(by_hand, bob, "t6", -1)
    store.vote(by_hand, bob, "t5", 1)  # changed its mind: only the current value counts
