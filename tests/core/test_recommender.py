"""Recommendations on the real catalogs: mood, target, variety across users, novelty, dislikes and likes."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from moodtunes.core.catalog import load_catalog
from moodtunes.core.catalog_build import served_catalog
from moodtunes.core.errors import UnknownMood
from moodtunes.core.mood import MOODS, MoodTarget
from moodtunes.core.recommender import Recommender, Variety
from moodtunes.core.settings import MOODS_CATALOG

HAPPY = MoodTarget("Happy", 0.85, 0.7, "match")


@pytest.fixture(scope="module")
def catalog() -> pd.DataFrame:
    return load_catalog(MOODS_CATALOG)


@pytest.fixture(scope="module")
def plain(catalog) -> Recommender:
    """No chance at all: the nearest tracks, as before variety."""
    return Recommender(catalog, Variety.off())


@pytest.fixture(scope="module")
def big(settings) -> pd.DataFrame:
    """The default 40k catalog, built by the pipeline (import + mood classifier) into the test data folder."""
    return served_catalog(settings)


def ids(recommendation) -> list[str]:
    return [t.id for t in recommendation.tracks]


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize("mood", MOODS)
def test_returns_five_tracks_of_the_requested_mood(catalog, mood):
    rec = Recommender(catalog, seed=1).recommend(mood)
    assert len(rec.tracks) == 5 and len(set(ids(rec))) == 5
    assert (catalog.set_index("id").loc[ids(rec), "mood"] == mood).all()
    assert all(t.spotify_url == f"https://open.spotify.com/track/{t.id}" for t in rec.tracks)


def test_same_emotion_different_people_different_fitting_lists(big):
    recommender = Recommender(big, seed=0)
    lists = [ids(recommender.recommend("Happy", target=HAPPY, rng=rng(user))) for user in range(20)]
    assert len({tuple(sorted(x)) for x in lists}) == 20  # twenty people, twenty different answers
    shown = big.set_index("id").loc[[t for x in lists for t in x]]
    assert (shown["mood"] == "Happy").all()
    assert abs(shown["valence"].mean() - HAPPY.valence) < 0.1 and abs(shown["energy"].mean() - HAPPY.energy) < 0.1
    # ...and still much closer to the target than the mood as a whole.
    happy = big[big["mood"] == "Happy"]
    gap = (shown["valence"] - HAPPY.valence).abs().mean()
    assert gap < 0.6 * (happy["valence"] - HAPPY.valence).abs().mean()


def test_variety_is_reproducible_with_a_seed(big):
    first = [ids(Recommender(big, seed=7).recommend("Calm")) for _ in range(2)]
    assert first[0] == first[1]
    a, b = Recommender(big), Recommender(big)
    assert ids(a.recommend("Sad", rng=rng(3))) == ids(b.recommend("Sad", rng=rng(3)))


def test_variety_off_is_the_plain_nearest_neighbours(plain, catalog):
    assert ids(plain.recommend("Happy", target=HAPPY)) == ids(plain.recommend("Happy", target=HAPPY))
    vectors = plain.vectors(list(catalog["id"]))
    point = plain.query_point("Happy", HAPPY)
    happy_rows = np.flatnonzero(catalog["mood"] == "Happy")
    nearest = happy_rows[np.argsort(np.linalg.norm(vectors[happy_rows] - point, axis=1))[:5]]
    assert ids(plain.recommend("Happy", target=HAPPY)) == list(catalog["id"].iloc[nearest])


def test_target_moves_the_picks(catalog):
    by_id = catalog.set_index("id")
    recommender = Recommender(catalog, seed=2)
    low = [t for s in range(10) for t in ids(recommender.recommend("Happy", target=MoodTarget("Happy", 0.1, 0.2,
                                                                                                "match"), rng=rng(s)))]
    high = [t for s in range(10) for t in ids(recommender.recommend("Happy", target=MoodTarget("Happy", 0.95, 0.95,
                                                                                                 "match"), rng=rng(s)))]
    assert by_id.loc[low, "valence"].mean() < by_id.loc[high, "valence"].mean()
    assert by_id.loc[low, "energy"].mean() < by_id.loc[high, "energy"].mean()


def test_excluded_ids_never_return_until_exhausted(catalog):
    recommender = Recommender(catalog, seed=4)
    shown: set[str] = set()
    while True:
        rec = recommender.recommend("Happy", exclude=frozenset(shown))
        assert not shown & set(ids(rec))
        shown |= set(ids(rec))
        if rec.exhausted:
            break
    assert len(shown) == recommender.mood_size("Happy")


def test_recent_tracks_wait_until_nothing_fresh_is_left_then_oldest_first(catalog):
    recommender = Recommender(catalog, seed=5)
    recent: list[str] = []  # newest first, as the store returns them
    size = recommender.mood_size("Calm")
    for _ in range(size // 5):
        rec = recommender.recommend("Calm", recent=tuple(recent))
        assert not set(recent) & set(ids(rec)) and len(rec.tracks) == 5
        recent = list(reversed(ids(rec))) + recent
    fresh_left = size - len(recent)
    again = recommender.recommend("Calm", recent=tuple(recent))
    came_back = [t for t in ids(again) if t in recent]
    assert len(came_back) == 5 - fresh_left and not again.exhausted
    assert set(came_back) == set(recent[len(recent) - len(came_back):])  # the ones shown longest ago


def test_a_liked_recent_track_comes_back_but_rarely(big):
    recommender = Recommender(big, seed=6)
    first = recommender.recommend("Energetic", rng=rng(0))
    liked = first.tracks[0].id
    comebacks = sum(liked in ids(recommender.recommend("Energetic", recent=tuple(ids(first)), liked_ids=(liked,),
                                                       rng=rng(s))) for s in range(300))
    assert 0 < comebacks < 60  # allowed back in about one answer in ten (it must also be drawn)
    unliked = first.tracks[1].id
    assert not any(unliked in ids(recommender.recommend("Energetic", recent=tuple(ids(first)), liked_ids=(liked,),
                                                        rng=rng(s))) for s in range(100))


def test_likes_pull_answers_toward_them_only_within_their_mood(big):
    recommender = Recommender(big, seed=8)
    calm = big[big["mood"] == "Calm"]
    liked = calm.sort_values("acousticness").iloc[0]["id"]  # the least acoustic calm track
    acoustic = big.set_index("id")["acousticness"]
    before = [t for s in range(15) for t in ids(recommender.recommend("Calm", rng=rng(s)))]
    after = [t for s in range(15) for t in ids(recommender.recommend("Calm", liked_ids=(liked,),
                                                                     exclude=frozenset({liked}), rng=rng(s)))]
    assert acoustic.loc[after].mean() < acoustic.loc[before].mean() - 0.1
    # A like of another mood leaves Calm answers exactly as they were (fresh recommenders: same exposure counts).
    happy_like = big[big["mood"] == "Happy"]["id"].iloc[0]
    with_like, without = Recommender(big), Recommender(big)
    assert [ids(with_like.recommend("Calm", liked_ids=(happy_like,), rng=rng(s))) for s in range(5)] == \
           [ids(without.recommend("Calm", rng=rng(s))) for s in range(5)]


def test_exposure_is_spread_over_equally_fitting_tracks(big):
    """The same emotion many times over: answers rotate through the fitting tracks instead of repeating a few."""
    # One query point (no anchors), so both draw from the same 60 nearest tracks.
    spread = Recommender(big, Variety(tournament=0), seed=10)
    fixed = Recommender(big, Variety(tournament=0, exposure_power=0.0), seed=10)
    shown = {name: Counter(t for s in range(200) for t in ids(r.recommend("Happy", target=HAPPY, rng=rng(s))))
             for name, r in (("spread", spread), ("fixed", fixed))}
    assert len(shown["spread"]) == len(shown["fixed"]) == 60
    counts = {name: np.array(list(c.values())) for name, c in shown.items()}
    assert counts["spread"].std() < 0.5 * counts["fixed"].std()
    assert counts["spread"].max() < counts["fixed"].max() and counts["spread"].min() > counts["fixed"].min()


def test_confidently_labelled_tracks_are_preferred(big):
    recommender = Recommender(big, seed=9)
    shown = [t for s in range(40) for t in ids(recommender.recommend("Sad", rng=rng(s)))]
    sad = big[big["mood"] == "Sad"]
    assert big.set_index("id").loc[shown, "mood_probability"].mean() > sad["mood_probability"].mean()


def test_unknown_mood(plain):
    with pytest.raises(UnknownMood):
        plain.recommend("Melancholy")
