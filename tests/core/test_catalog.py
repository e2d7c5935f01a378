"""Catalog validation and `catalog import` on the real CSVs: Kaggle's data_moods.csv and the hit-predictor file."""

from __future__ import annotations

import pandas as pd
import pytest

from moodtunes.core.catalog import CATALOG_COLUMNS, MOOD_PROBABILITY, import_catalog, load_catalog, write_catalog
from moodtunes.core.errors import CatalogError
from moodtunes.core.mood import MOODS
from moodtunes.core.settings import DEFAULT_CATALOG_SOURCE, MOODS_CATALOG

HITS = DEFAULT_CATALOG_SOURCE


@pytest.fixture(scope="module")
def hits_head() -> pd.DataFrame:
    """The first 300 rows of the real hit-predictor CSV, as text."""
    return pd.read_csv(HITS, dtype=str, keep_default_na=False, nrows=300)


def _write(tmp_path, frame: pd.DataFrame, name: str = "tracks.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_real_moods_catalog_loads_as_certain():
    catalog = load_catalog(MOODS_CATALOG)
    assert len(catalog) == 686 and set(catalog["mood"]) == set(MOODS)
    assert (catalog[MOOD_PROBABILITY] == 1.0).all()  # hand labels


def test_missing_column_is_named(tmp_path):
    frame = pd.read_csv(MOODS_CATALOG).drop(columns=["valence"])
    with pytest.raises(CatalogError, match="missing column.*valence"):
        load_catalog(_write(tmp_path, frame))


def _non_numeric(frame):
    frame.loc[9, "energy"] = "loud"


def _duplicate_id(frame):
    frame.loc[20, "id"] = frame.loc[3, "id"]


def _unknown_mood(frame):
    frame.loc[0, "mood"] = "Angsty"


@pytest.mark.parametrize(("spoil", "message"), [
    (_non_numeric, r"row 11, column energy: 'loud' is not a number"),
    (_duplicate_id, r"row 22, column id: duplicate id .* \(first at row 5\)"),
    (_unknown_mood, r"row 2, column mood: 'Angsty'"),
])
def test_bad_cell_names_row_and_column(tmp_path, spoil, message):
    frame = pd.read_csv(MOODS_CATALOG, dtype=str)
    spoil(frame)
    with pytest.raises(CatalogError, match=message):
        load_catalog(_write(tmp_path, frame))


def test_bad_mood_probability_is_named(tmp_path):
    frame = pd.read_csv(MOODS_CATALOG, dtype=str)
    frame[MOOD_PROBABILITY] = "0.9"
    frame.loc[5, MOOD_PROBABILITY] = "1.7"
    with pytest.raises(CatalogError, match=r"row 7, column mood_probability: '1.7' is not a probability"):
        load_catalog(_write(tmp_path, frame))


def test_missing_file(tmp_path):
    with pytest.raises(CatalogError, match="not found"):
        load_catalog(tmp_path / "nope.csv")


def test_import_maps_columns_takes_ids_from_uris_and_drops_duplicates(tmp_path, hits_head):
    source = pd.concat([hits_head, hits_head.iloc[[7, 42]]], ignore_index=True)  # rows 302, 303 repeat ids
    source.loc[301, "track"] = "a later copy"
    result = import_catalog(_write(tmp_path, source))
    assert result.format == "spotify-hits" and result.source_rows == 302 and result.duplicates_dropped == 2
    catalog = result.catalog
    assert list(catalog.columns) == list(CATALOG_COLUMNS) and len(catalog) == 300
    assert catalog["id"].iloc[0] == hits_head["uri"].iloc[0].removeprefix("spotify:track:")
    assert catalog["name"].iloc[42] == hits_head["track"].iloc[42]  # the first row of an id is the one kept
    assert (catalog["length"] == hits_head["duration_ms"].astype(float)).all()
    assert (catalog["mood"] == "").all() and catalog["popularity"].isna().all() and (catalog["album"] == "").all()
    # Written and read back, it is a catalog waiting for its moods: the labelled loader refuses it, by row.
    out = tmp_path / "imported.csv"
    write_catalog(catalog, out)
    with pytest.raises(CatalogError, match=r"row 2, column mood: '' is not one of"):
        load_catalog(out)


@pytest.mark.parametrize(("column", "value", "expected"), [
    ("uri", "spotify:album:1dtKN6wwlolkM8XZy2y9C1", r"row 12, column uri: 'spotify:album:.*' is not a spotify:track"),
    ("duration_ms", "long", r"row 12, column duration_ms: 'long' is not a number"),
    ("valence", "", r"row 12, column valence: '' is not a number"),
    ("track", " ", r"row 12, column track: empty"),
])
def test_import_errors_name_the_source_row_and_column(tmp_path, hits_head, column, value, expected):
    source = hits_head.copy()
    source.loc[10, column] = value
    with pytest.raises(CatalogError, match=expected):
        import_catalog(_write(tmp_path, source))


def test_import_of_an_unknown_schema_lists_the_formats(tmp_path):
    path = _write(tmp_path, pd.DataFrame({"title": ["x"], "spotify": ["y"]}))
    with pytest.raises(CatalogError, match=r"not a known track CSV; formats: catalog .*spotify-hits \(track"):
        import_catalog(path)
    with pytest.raises(CatalogError, match=r"missing column\(s\) track, artist, uri.* for format spotify-hits"):
        import_catalog(path, "spotify-hits")


def test_a_catalog_imports_as_itself(tmp_path):
    result = import_catalog(MOODS_CATALOG)
    assert result.format == "catalog" and result.duplicates_dropped == 0
    assert (result.catalog["mood"] == load_catalog(MOODS_CATALOG)["mood"]).all()  # labels it had are kept
