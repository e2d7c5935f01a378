"""The default catalog: the real 40k hit-predictor CSV imported and labelled by the shipped classifier, cached."""

from __future__ import annotations

import os

import pytest

from moodtunes.core.catalog import MOOD_PROBABILITY
from moodtunes.core.catalog_build import BUILT_CATALOG, build_catalog, served_catalog
from moodtunes.core.errors import CatalogError
from moodtunes.core.mood import MOODS
from moodtunes.core.settings import DEFAULT_CATALOG_SOURCE, DEFAULT_MOOD_CLASSIFIER, MOODS_CATALOG


def test_the_default_catalog_is_built_once_and_served_from_its_cache(settings):
    catalog = served_catalog(settings)  # built on first use into the data folder, like a first start
    assert len(catalog) == 40_560 and catalog["id"].is_unique and set(catalog["mood"]) == set(MOODS)
    assert catalog[MOOD_PROBABILITY].between(0.25, 1).all()
    out = settings.data_dir / BUILT_CATALOG
    again = build_catalog(DEFAULT_CATALOG_SOURCE, DEFAULT_MOOD_CLASSIFIER, out)
    assert not again.built and again.tracks == 40_560 and again.duplicates_dropped == 546
    assert sum(again.mood_counts.values()) == 40_560


def test_a_changed_catalog_file_refreshes_the_cache(settings):
    served_catalog(settings)
    out = settings.data_dir / BUILT_CATALOG
    lines = out.read_text().splitlines(keepends=True)
    edited = settings.model_copy(update={"data_dir": settings.data_dir / "edited"})
    target = edited.data_dir / BUILT_CATALOG
    target.parent.mkdir(parents=True)
    target.write_text("".join(lines[:101]))  # header + 100 tracks
    stamp = out.with_name(out.name + ".json")
    target.with_name(target.name + ".json").write_text(stamp.read_text())
    assert len(served_catalog(edited)) == 100
    target.write_text("".join(lines[:51]))
    os.utime(target, ns=(1, 1))
    assert len(served_catalog(edited)) == 50


def test_catalog_path_serves_that_catalog_instead(settings):
    moods = settings.model_copy(update={"catalog_path": MOODS_CATALOG})
    assert len(served_catalog(moods)) == 686


def test_a_missing_source_is_named(settings, tmp_path):
    broken = settings.model_copy(update={"data_dir": tmp_path, "catalog_source": tmp_path / "none.csv"})
    with pytest.raises(CatalogError, match=r"none\.csv: catalog source not found .*CATALOG_PATH"):
        served_catalog(broken)
