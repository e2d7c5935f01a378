"""The catalog mood classifier: compared by stratified CV on the real data_moods.csv, saved with metadata, and
the shipped one labelling tracks with a mood and its probability."""

from __future__ import annotations

import json

import numpy as np
import pytest

from moodtunes.core.catalog import load_catalog
from moodtunes.core.mood import MOODS
from moodtunes.core.mood_classifier import MoodClassifier
from moodtunes.core.settings import DEFAULT_MOOD_CLASSIFIER, MOODS_CATALOG
from moodtunes.training.train_catalog import CLASSIFIER_FEATURES, format_result, train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("mood")
    return out, train(MOODS_CATALOG, out, ["logistic", "knn"])


def test_compares_candidates_and_saves_the_best_with_metadata(trained):
    out, result = trained
    assert [s.name for s in result.scores] == sorted(["logistic", "knn"], key=lambda n: -next(
        s.mean for s in result.scores if s.name == n))
    assert result.best == result.scores[0].name and result.scores[0].mean >= 0.80
    assert result.confusion.shape == (4, 4) and result.confusion.sum() == 686
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["features"] == list(CLASSIFIER_FEATURES) and set(metadata["classes"]) == set(MOODS)
    assert metadata["cv"]["stratified"] and metadata["cv"]["accuracy"][result.best]["mean"] >= 0.80
    assert metadata["trained_on"]["rows"] == 686 and len(metadata["trained_on"]["sha256"]) == 64
    printed = format_result(result)
    assert "confusion matrix" in printed and "true Calm" in printed and f"{result.scores[0].mean:.2%}" in printed


def test_a_saved_classifier_labels_with_mood_and_probability(trained):
    out, _ = trained
    classifier = MoodClassifier.load(out)
    catalog = load_catalog(MOODS_CATALOG)
    labelled = classifier.label(catalog.drop(columns=["mood", "mood_probability"]).assign(mood=""))
    assert set(labelled["mood"]) <= set(MOODS)
    assert labelled["mood_probability"].between(0.25, 1).all()  # the winning class of four: at least 1/4
    proba = classifier.model.predict_proba(catalog[classifier.features].to_numpy(float))
    assert np.allclose(labelled["mood_probability"], proba.max(axis=1), atol=1e-4)
    assert (labelled["mood"] == catalog["mood"]).mean() > 0.8  # fits its own training tracks


def test_the_shipped_classifier_meets_the_accuracy_target():
    classifier = MoodClassifier.load(DEFAULT_MOOD_CLASSIFIER)
    accuracy = classifier.metadata["cv"]["accuracy"][classifier.metadata["classifier"]]["mean"]
    assert accuracy >= 0.80 and classifier.version.startswith("mood-")
    assert classifier.metadata["confusion_matrix"]["labels"] == list(MOODS)
