"""`moodtunes catalog import|label|build` and `moodtunes train catalog`, on slices of the real CSVs."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from moodtunes.cli.main import app
from moodtunes.core.catalog import load_catalog
from moodtunes.core.mood import MOODS
from moodtunes.core.settings import DEFAULT_CATALOG_SOURCE, MOODS_CATALOG, get_settings

runner = CliRunner()


@pytest.fixture
def hits_slice(tmp_path):
    """The first 400 rows of the real hit-predictor CSV, one of them repeated."""
    frame = pd.read_csv(DEFAULT_CATALOG_SOURCE, dtype=str, keep_default_na=False, nrows=400)
    path = tmp_path / "hits.csv"
    pd.concat([frame, frame.iloc[[5]]]).to_csv(path, index=False)
    return path


@pytest.fixture
def fresh_settings(monkeypatch, tmp_path, hits_slice):
    """DATA_DIR and CATALOG_SOURCE for this test only (the settings object is cached per process)."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CATALOG_SOURCE", str(hits_slice))
    monkeypatch.delenv("CATALOG_PATH", raising=False)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_import_then_label(tmp_path, hits_slice):
    imported = tmp_path / "imported.csv"
    result = runner.invoke(app, ["catalog", "import", str(hits_slice), "--out", str(imported)])
    assert result.exit_code == 0, result.output
    assert "(spotify-hits): 401 rows -> 400 tracks, 1 duplicate ids dropped" in result.stdout
    labelled = tmp_path / "labelled.csv"
    result = runner.invoke(app, ["catalog", "label", str(imported), "--out", str(labelled)])
    assert result.exit_code == 0, result.output
    assert "400 tracks labelled by mood-" in result.stdout
    catalog = load_catalog(labelled)  # a valid, labelled catalog
    assert len(catalog) == 400 and set(catalog["mood"]) <= set(MOODS)
    assert catalog["mood_probability"].between(0.25, 1).all()


def test_import_error_names_row_and_column_and_exits_1(tmp_path, hits_slice):
    frame = pd.read_csv(hits_slice, dtype=str, keep_default_na=False)
    frame.loc[3, "tempo"] = "fast"
    frame.to_csv(hits_slice, index=False)
    result = runner.invoke(app, ["catalog", "import", str(hits_slice), "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 1 and "row 5, column tempo: 'fast' is not a number" in result.output
    assert not (tmp_path / "x.csv").exists()


def test_build_once_then_up_to_date(fresh_settings):
    result = runner.invoke(app, ["catalog", "build"])
    assert result.exit_code == 0, result.output
    assert ": built, 400 tracks" in result.stdout and "1 duplicate ids dropped" in result.stdout
    again = runner.invoke(app, ["catalog", "build"])
    assert ": up to date, 400 tracks" in again.stdout


def test_train_catalog_prints_the_comparison_and_saves(tmp_path):
    out = tmp_path / "mood"
    result = runner.invoke(app, ["train", "catalog", "--labelled", str(MOODS_CATALOG), "--out", str(out),
                                 "--candidates", "logistic,knn"])
    assert result.exit_code == 0, result.output
    assert "5-fold stratified CV x 3 repeats, 686 tracks" in result.stdout
    assert "best: logistic" in result.stdout and "true Happy" in result.stdout
    assert (out / "model.joblib").is_file() and (out / "metadata.json").is_file()
    bad = runner.invoke(app, ["train", "catalog", "--out", str(out), "--candidates", "magic"])
    assert bad.exit_code == 1 and "unknown classifier(s) magic" in bad.output
