"""The shipped emotion model: loads, matches its metadata, classifies real faces."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from moodtunes.core.emotion import EmotionModel, file_sha256
from moodtunes.core.emotions import EMOTIONS
from moodtunes.core.errors import ModelError
from moodtunes.core.settings import PACKAGE_DIR
from tests.helpers import fer_faces


def test_metadata_matches_shipped_model(pipeline, settings):
    model = pipeline.model
    meta = json.loads((settings.model_dir / "metadata.json").read_text())
    assert tuple(meta["classes"]) == EMOTIONS
    assert meta["input_size"] == model.input_size == 48
    assert meta["sha256"] == file_sha256(settings.model_dir / "model.tflite")
    assert meta["size_bytes"] == (settings.model_dir / "model.tflite").stat().st_size <= 10 * 1024 * 1024
    for key in ("preprocessing", "data", "val", "parameters", "training_seconds", "created", "version"):
        assert key in meta
    assert 0 < meta["parameters"] < 5_000_000
    assert meta["val"]["confusion"]["labels"] == list(EMOTIONS)
    assert sum(sum(row) for row in meta["val"]["confusion"]["rows_true_columns_predicted"]) == meta["val"]["n"]


def test_probabilities_are_a_distribution(pipeline, astronaut_image):
    face = pipeline.detector.detect(astronaut_image)[0]
    probs = pipeline.model.predict_proba(face.pixels[None])
    assert probs.shape == (1, 7)
    assert np.isclose(probs.sum(), 1.0, atol=1e-4) and (probs >= 0).all()


def test_batch_and_single_agree(pipeline):
    faces = fer_faces("val", "happy", 8)
    batch = pipeline.model.predict_proba(faces)
    singles = np.concatenate([pipeline.model.predict_proba(f[None]) for f in faces])
    assert np.allclose(batch, singles, atol=1e-4)


def test_model_beats_chance_on_real_val_faces(pipeline):
    """Metadata's val accuracy is reproduced on a real slice of val (first 40 images of each class)."""
    correct = total = 0
    for label, emotion in enumerate(EMOTIONS):
        faces = fer_faces("val", emotion, 40)
        correct += int((pipeline.model.predict_proba(faces).argmax(1) == label).sum())
        total += len(faces)
    assert correct / total > 0.4  # chance is 1/7


def test_missing_or_corrupt_model_is_a_precise_error(tmp_path, settings):
    with pytest.raises(ModelError, match="model.tflite"):
        EmotionModel(tmp_path)
    shutil.copy(settings.model_dir / "metadata.json", tmp_path / "metadata.json")
    (tmp_path / "model.tflite").write_bytes(b"not a model at all")
    with pytest.raises(ModelError, match="not a loadable TFLite model"):
        EmotionModel(tmp_path)
    (tmp_path / "metadata.json").write_text("{broken")
    with pytest.raises(ModelError, match="not valid JSON"):
        EmotionModel(tmp_path)


@pytest.mark.parametrize("folder", sorted((PACKAGE_DIR / "models" / "candidates").iterdir()), ids=lambda p: p.name)
def test_kept_candidates_load_and_match_their_metadata(folder):
    """models/candidates/* are measured models kept as ensemble members: servable, within budget, as recorded."""
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["sha256"] == file_sha256(folder / "model.tflite")
    assert meta["size_bytes"] == (folder / "model.tflite").stat().st_size <= 25 * 1000 * 1000
    assert "val" in meta and "val_ferplus_majority" in meta and tuple(meta["classes"]) == EMOTIONS
    model = EmotionModel(folder)
    happy = model.predict_proba(fer_faces("val", "happy", 20)).argmax(1)
    assert (happy == EMOTIONS.index("happy")).mean() >= 0.7  # its recorded happy recall is 0.86
