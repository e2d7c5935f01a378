"""`moodtunes train export`: a model folder and a finished run exported again with int8 weights."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from moodtunes.cli.main import app
from moodtunes.core.emotion import EmotionModel, file_sha256
from moodtunes.core.settings import DEFAULT_MODEL_DIR
from moodtunes.training.fer_data import load_splits
from moodtunes.training.train_emotion import TrainConfig, train
from tests.helpers import SINGLE_MODEL_DIR, TINY_FER_VAL_PER_CLASS, ensemble_refusal

runner = CliRunner()


@pytest.mark.slow
def test_a_model_folder_exported_with_int8_weights(tiny_fer, tmp_path, restore_policy):
    out = tmp_path / "default-int8"
    result = runner.invoke(app, ["train", "export", "--source", str(SINGLE_MODEL_DIR), "--out", str(out),
                                 "--data", str(tiny_fer)])
    assert result.exit_code == 0, result.output
    folder = out / "model"
    assert f"model written to {folder}" in result.stdout
    # the converter's own report (the saved artifact's signature) is not the admin's business
    assert "Saved artifact" not in result.stdout and "TensorSpec" not in result.stdout

    source = json.loads((SINGLE_MODEL_DIR / "metadata.json").read_text())
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["exported_from"] == str(SINGLE_MODEL_DIR)
    assert metadata["version"] == source["version"] + "-int8"
    assert metadata["hyperparameters"] == source["hyperparameters"]
    assert metadata["quantization"].startswith("dynamic-range")
    assert metadata["sha256"] == file_sha256(folder / "model.tflite")
    assert metadata["size_bytes"] < (SINGLE_MODEL_DIR / "model.tflite").stat().st_size * 0.3
    assert metadata["val"]["n"] == 7 * TINY_FER_VAL_PER_CLASS and metadata["val_ferplus_majority"]["n"] > 0

    # the float32 reference is run 4 itself, recovered: the same accuracy on the same faces
    val = load_splits(tiny_fer, 48)["val"]
    float32_accuracy = (EmotionModel(SINGLE_MODEL_DIR).predict_many(val.images).argmax(1) == val.labels).mean()
    assert metadata["val_float32"]["accuracy"] == pytest.approx(float32_accuracy, abs=1.01 / len(val.labels))
    int8 = EmotionModel(folder).predict_many(val.images).argmax(1)
    assert metadata["val"]["accuracy"] == pytest.approx((int8 == val.labels).mean())


@pytest.mark.slow
def test_a_finished_run_exported_again_from_its_state(tiny_fer, tmp_path, restore_policy):
    run = tmp_path / "run"
    train(TrainConfig(data=str(tiny_fer), arch="custom-cnn", out=str(run), epochs=1, batch_size=32,
                      mixed_precision=False, quantization="none"))
    float32 = json.loads((run / "model" / "metadata.json").read_text())
    assert float32["quantization"].startswith("none")

    result = runner.invoke(app, ["train", "export", "--source", str(run / "state"), "--out", str(tmp_path / "int8")])
    assert result.exit_code == 0, result.output
    metadata = json.loads((tmp_path / "int8" / "model" / "metadata.json").read_text())
    assert metadata["quantization"].startswith("dynamic-range")
    assert metadata["val_float32"]["accuracy"] == float32["val"]["accuracy"]  # the same weights, exported float32
    assert metadata["exported_epoch"] == float32["exported_epoch"] == 1
    assert metadata["hyperparameters"] == float32["hyperparameters"]
    assert metadata["training_parts"] == float32["training_parts"]
    probabilities = EmotionModel(tmp_path / "int8" / "model").predict_proba(
        load_splits(tiny_fer, 48)["val"].images[:5])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_export_refuses_what_it_cannot_read(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = runner.invoke(app, ["train", "export", "--source", str(empty), "--out", str(tmp_path / "a")])
    assert missing.exit_code == 1 and f"{empty}: neither a training run" in missing.stderr
    unknown = runner.invoke(app, ["train", "export", "--source", str(SINGLE_MODEL_DIR), "--out", str(tmp_path / "b"),
                                  "--quantization", "int4"])
    assert unknown.exit_code == 2 and unknown.stderr.strip() == "error: --quantization must be one of dynamic, none"
    ensemble = runner.invoke(app, ["train", "export", "--source", str(DEFAULT_MODEL_DIR), "--out", str(tmp_path / "c")])
    assert ensemble.exit_code == 1 and ensemble.stderr.strip() == ensemble_refusal(DEFAULT_MODEL_DIR)
    assert not any((tmp_path / name).exists() for name in ("a", "b", "c"))
