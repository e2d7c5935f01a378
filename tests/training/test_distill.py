"""Distillation: a served teacher's outputs on the real training faces become part of each target."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from moodtunes.cli.main import app
from moodtunes.core.emotion import EmotionModel
from moodtunes.core.emotions import EMOTIONS
from moodtunes.core.settings import DEFAULT_MODEL_DIR
from moodtunes.training.distill import distilled_targets, teacher_probabilities
from moodtunes.training.fer_data import load_splits
from moodtunes.training.train_emotion import default_config, training_arrays


def test_teacher_probabilities_are_the_served_models_and_are_cached(tiny_fer, tmp_path):
    images = load_splits(tiny_fer)["train"].images
    probs = teacher_probabilities(DEFAULT_MODEL_DIR, images, tmp_path / "cache")
    np.testing.assert_allclose(probs, EmotionModel(DEFAULT_MODEL_DIR).predict_many(images), atol=1e-5)
    (cached,) = (tmp_path / "cache").glob("teacher-*.npy")
    # a second call reads the cache instead of classifying again: prove it with a cache that differs
    np.save(cached, np.full_like(probs, 1 / len(EMOTIONS)))
    np.testing.assert_array_equal(teacher_probabilities(DEFAULT_MODEL_DIR, images, tmp_path / "cache"),
                                  np.full_like(probs, 1 / len(EMOTIONS)))
    # without a cache folder the teacher classifies every time
    np.testing.assert_allclose(teacher_probabilities(DEFAULT_MODEL_DIR, images), probs, atol=1e-6)


def test_teacher_refuses_faces_of_another_size(tiny_fer):
    images = np.zeros((3, 64, 64), dtype=np.uint8)
    with pytest.raises(ValueError, match="the teacher takes 48-px faces, the run trains on 64-px faces"):
        teacher_probabilities(DEFAULT_MODEL_DIR, images)


def test_distilled_targets_mix_labels_and_teacher():
    labels = np.array([0, 3, 6])
    one_hot = np.eye(len(EMOTIONS), dtype=np.float32)[labels]
    teacher = EmotionModel(DEFAULT_MODEL_DIR).predict_proba(np.full((3, 48, 48), 128, dtype=np.uint8))
    mixed = distilled_targets(one_hot, teacher, 0.25)
    np.testing.assert_allclose(mixed.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(mixed, 0.75 * one_hot + 0.25 * teacher / teacher.sum(axis=1, keepdims=True),
                               atol=1e-6)
    np.testing.assert_allclose(distilled_targets(one_hot, teacher, 1.0), teacher, atol=1e-6)
    for weight in (0.0, 1.5):
        with pytest.raises(ValueError, match="teacher weight must be above 0 and at most 1"):
            distilled_targets(one_hot, teacher, weight)


def test_training_targets_take_the_teachers_share(tiny_fer, tmp_path):
    splits = load_splits(tiny_fer)
    config = default_config("default", data=str(tiny_fer), out=str(tmp_path / "run"))
    images, plain, weights, _ = training_arrays(config, splits)
    taught = replace(config, teacher=str(DEFAULT_MODEL_DIR), teacher_weight=0.4)
    images_taught, targets, weights_taught, _ = training_arrays(taught, splits)
    np.testing.assert_array_equal(images_taught, images)
    np.testing.assert_array_equal(weights_taught, weights)  # class weights follow the original labels
    teacher = EmotionModel(DEFAULT_MODEL_DIR).predict_many(images)
    np.testing.assert_allclose(targets, 0.6 * plain + 0.4 * teacher, atol=1e-5)
    assert list((tmp_path / "run" / "cache").glob("teacher-*.npy"))


@pytest.mark.parametrize(("extra", "message"), [
    (["--teacher-weight", "0.3"], "error: --teacher-weight needs --teacher"),
    (["--teacher", "{model}", "--teacher-weight", "0"], "error: --teacher-weight must be above 0 and at most 1"),
    (["--teacher", "{missing}"], "error: --teacher: {missing}/model.tflite: file not found "
                                 "(model folder must hold model.tflite and metadata.json)"),
])
def test_cli_refuses_a_bad_teacher_in_one_line(tiny_fer, tmp_path, extra, message):
    paths = {"model": str(DEFAULT_MODEL_DIR), "missing": str(tmp_path / "no-model")}
    args = [part.format(**paths) for part in extra]
    result = CliRunner().invoke(app, ["train", "emotion", "--data", str(tiny_fer), "--out", str(tmp_path / "run"),
                                      *args])
    assert result.exit_code == 2
    assert result.stderr.strip() == message.format(**paths)
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_cli_distils_a_served_model_into_a_new_run(tiny_fer, tmp_path, monkeypatch, restore_policy):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, [
        "train", "emotion", "--data", str(tiny_fer), "--arch", "custom-cnn", "--out", "runs/student",
        "--epochs", "1", "--batch-size", "64", "--no-mixed-precision",
        "--teacher", str(DEFAULT_MODEL_DIR), "--teacher-weight", "0.5"])
    assert result.exit_code == 0, result.output
    assert f"distilling {DEFAULT_MODEL_DIR} (weight 0.5) into 140 targets" in result.stdout
    run = json.loads((tmp_path / "runs/student/state/run.json").read_text())
    assert run["config"]["teacher"] == str(DEFAULT_MODEL_DIR) and run["config"]["teacher_weight"] == 0.5
    metadata = json.loads((tmp_path / "runs/student/model/metadata.json").read_text())
    assert f"distilled from {DEFAULT_MODEL_DIR} (weight 0.5)" in metadata["data"]["train"]
    assert EmotionModel(tmp_path / "runs/student/model").predict_proba(
        load_splits(tiny_fer)["val"].images[:4]).shape == (4, len(EMOTIONS))
