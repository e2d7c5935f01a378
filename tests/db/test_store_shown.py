"""What the recommender needs from the store: tracks shown lately (novelty) and votes per answer (/history)."""

from __future__ import annotations

from datetime import timedelta

from moodtunes.db.models import utcnow
from moodtunes.db.store import Store

from .seed import record


def test_recently_shown_is_newest_first_unique_and_counts_more_pages(store: Store) -> None:
    user = store.user_id("telegram", "7")
    first = record(store, user, track_ids=["a", "b", "c"])
    record(store, user, track_ids=["d", "a"])
    store.page_event(first, lambda _: (["e", "f"], None))  # "More" on the older answer: appended, at its end
    other = store.user_id("telegram", "8")
    record(store, other, track_ids=["zz"])
    assert store.recently_shown_track_ids(user) == ["a", "d", "f", "e", "c", "b"]
    assert store.recently_shown_track_ids(other) == ["zz"]
    assert store.recently_shown_track_ids(store.user_id("discord", "9")) == []


def test_recently_shown_keeps_the_last_200_and_everything_from_30_days(store: Store) -> None:
    user = store.user_id("console", "me")
    for day in range(45):  # 45 answers of 5 tracks: 225 tracks, all from today
        record(store, user, track_ids=[f"d{day}t{i}" for i in range(5)])
    assert len(store.recently_shown_track_ids(user)) == 225  # all within 30 days
    later = utcnow() + timedelta(days=40)  # seen from 40 days on, none is recent by date: the last 200 remain
    shown = store.recently_shown_track_ids(user, now=later)
    assert len(shown) == 200 and shown[0] == "d44t4" and "d0t0" not in shown
    assert len(store.recently_shown_track_ids(user, last=12, now=later)) == 15  # whole answers


def test_votes_by_event_counts_the_current_votes_of_one_user(store: Store) -> None:
    alice, bob = store.user_id("telegram", "1"), store.user_id("telegram", "2")
    first = record(store, alice, track_ids=["t1", "t2", "t3"])
    second = record(store, alice, track_ids=["t4"])
    record(store, alice, track_ids=["t5"])
    store.vote(first, alice, "t1", 1)
    store.vote(first, alice, "t2", -1)
    store.vote(first, alice, "t2", 1)  # changed its mind
    store.vote(first, alice, "t3", -1)
    store.vote(second, alice, "t4", -1)
    store.vote(first, bob, "t1", -1)  # someone else's vote on alice's answer is not alice's
    assert store.votes_by_event(alice) == {first: (2, 1), second: (0, 1)}
    assert store.votes_by_event(bob) == {first: (0, 1)}
