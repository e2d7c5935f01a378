"""Catalog validation and KNN recommendations on the real 686-track catalog."""

from __future__ import annotations

import pandas as pd
import pytest

from core.errors import CatalogError, UnknownMood
from core.mood import MOODS, MoodTarget
from core.recommender import Recommender, load_catalog


@pytest.fixture(scope="module")
def catalog(settings) -> pd.DataFrame:
    return load_catalog(settings.catalog_path)


@pytest.fixture(scope="module")
def recommender(catalog) -> Recommender:
    return Recommender(catalog)


def test_real_catalog_loads(catalog):
    assert len(catalog) == 686
    assert set(catalog["mood"]) == set(MOODS)


@pytest.mark.parametrize("mood", MOODS)
def test_returns_five_tracks_of_the_requested_mood(recommender, catalog, mood):
    rec = recommender.recommend(mood)
    assert len(rec.tracks) == 5
    moods = catalog.set_index("id").loc[[t.id for t in rec.tracks], "mood"]
    assert (moods == mood).all()
    assert all(t.spotify_url == f"https://open.spotify.com/track/{t.id}" for t in rec.tracks)


def test_excluded_ids_never_return_until_exhausted(recommender):
    shown: set[str] = set()
    size = recommender.mood_size("Happy")
    while True:
        rec = recommender.recommend("Happy", exclude=frozenset(shown))
        assert not shown & {t.id for t in rec.tracks}
        shown |= {t.id for t in rec.tracks}
        if rec.exhausted:
            break
    assert len(shown) == size


def test_target_moves_the_picks(recommender, catalog):
    by_id = catalog.set_index("id")
    low = recommender.recommend("Happy", target=MoodTarget("Happy", 0.1, 0.2, "match"))
    high = recommender.recommend("Happy", target=MoodTarget("Happy", 0.95, 0.95, "match"))
    def mean_valence(tracks) -> float:
        return by_id.loc[[t.id for t in tracks], "valence"].mean()

    assert mean_valence(low.tracks) < mean_valence(high.tracks)


def test_liked_tracks_pull_the_query(recommender, catalog):
    before = recommender.recommend("Calm")
    calm = catalog[catalog["mood"] == "Calm"]
    liked = calm.sort_values("energy").iloc[-1]["id"]  # the most energetic calm track
    after = recommender.recommend("Calm", liked_ids=(liked,), exclude=frozenset({liked}))
    assert [t.id for t in before.tracks] != [t.id for t in after.tracks]
    energy = catalog.set_index("id")["energy"]
    assert energy.loc[[t.id for t in after.tracks]].mean() > energy.loc[[t.id for t in before.tracks]].mean()


def test_unknown_mood(recommender):
    with pytest.raises(UnknownMood):
        recommender.recommend("Melancholy")


def _write(tmp_path, frame: pd.DataFrame):
    path = tmp_path / "catalog.csv"
    frame.to_csv(path, index=False)
    return path


def test_missing_column_is_named(tmp_path, settings):
    frame = pd.read_csv(settings.catalog_path).drop(columns=["valence"])
    with pytest.raises(CatalogError, match="missing column.*valence"):
        load_catalog(_write(tmp_path, frame))


def test_non_numeric_feature_names_row_and_column(tmp_path, settings):
    frame = pd.read_csv(settings.catalog_path, dtype=str)
    frame.loc[9, "energy"] = "loud"
    with pytest.raises(CatalogError, match=r"row 11, column energy: 'loud' is not a number"):
        load_catalog(_write(tmp_path, frame))


def test_duplicate_id_names_both_rows(tmp_path, settings):
    frame = pd.read_csv(settings.catalog_path, dtype=str)
    frame.loc[20, "id"] = frame.loc[3, "id"]
    with pytest.raises(CatalogError, match=r"row 22, column id: duplicate id .* \(first at row 5\)"):
        load_catalog(_write(tmp_path, frame))


def test_unknown_mood_names_row_and_column(tmp_path, settings):
    frame = pd.read_csv(settings.catalog_path, dtype=str)
    frame.loc[0, "mood"] = "Angsty"
    with pytest.raises(CatalogError, match=r"row 2, column mood: 'Angsty'"):
        load_catalog(_write(tmp_path, frame))


def test_missing_file(tmp_path):
    with pytest.raises(CatalogError, match="not found"):
        load_catalog(tmp_path / "nope.csv")
