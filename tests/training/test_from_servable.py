"""Recovering a trainable Keras model from a served TFLite model (run 4's), and training on from it."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from moodtunes.cli.main import app
from moodtunes.core.emotion import EmotionModel
from moodtunes.core.emotions import EMOTIONS
from moodtunes.core.settings import DEFAULT_MODEL_DIR
from moodtunes.training.finalize import export_tflite
from moodtunes.training.from_servable import folded_weights, is_servable_folder, recover_keras_model
from moodtunes.training.train_emotion import TrainConfig, build_model
from tests.helpers import SINGLE_MODEL_DIR, ensemble_refusal, fer_faces

runner = CliRunner()


@pytest.fixture(scope="module")
def real_faces():
    """Real FER2013 training faces of every class, interleaved so any batch mixes classes."""
    per_class = [fer_faces("train", emotion, 48) for emotion in EMOTIONS]
    faces = np.stack(per_class, axis=1).reshape(-1, 48, 48)
    labels = np.tile(np.arange(len(EMOTIONS)), 48)
    return faces, labels


@pytest.fixture(scope="module")
def recovered(real_faces):
    metadata = json.loads((SINGLE_MODEL_DIR / "metadata.json").read_text())
    config = TrainConfig(**metadata["hyperparameters"])
    return recover_keras_model(SINGLE_MODEL_DIR, real_faces[0], lambda: build_model(config))


@pytest.fixture(scope="module")
def exports(recovered, tmp_path_factory):
    """The recovered run-4 model exported twice from the same weights: float32, and with int8 weights as
    `moodtunes train` exports models by default. Returns {"none": folder, "dynamic": folder}."""
    folders = {}
    for quantization in ("none", "dynamic"):
        folder = tmp_path_factory.mktemp(f"export-{quantization}")
        export_tflite(recovered, folder / "model.tflite", quantization)
        shutil.copy(SINGLE_MODEL_DIR / "metadata.json", folder / "metadata.json")
        folders[quantization] = folder
    return folders


def val_faces(per_class: int) -> np.ndarray:
    return np.concatenate([fer_faces("val", emotion, per_class) for emotion in EMOTIONS])


def test_folded_weights_are_the_models_layers():
    layers = folded_weights(SINGLE_MODEL_DIR / "model.tflite")
    assert [op for op, _, _ in layers] == ["CONV_2D"] * 8 + ["FULLY_CONNECTED"] * 2
    assert layers[0][1].shape == (3, 3, 1, 32) and layers[-1][1].shape == (256, len(EMOTIONS))


def test_recovered_model_serves_what_the_tflite_model_serves(recovered):
    faces = np.concatenate([fer_faces("val", emotion, 4) for emotion in EMOTIONS]).astype("float32")
    served = EmotionModel(SINGLE_MODEL_DIR)
    expected = served.predict_proba(faces)
    keras_proba = recovered.predict(faces[..., None], verbose=0)
    if served.tta_flip:
        keras_proba = (keras_proba + recovered.predict(faces[:, :, ::-1, None], verbose=0)) / 2
    np.testing.assert_allclose(keras_proba, expected, atol=1e-4)


def test_recovered_model_trains_from_where_the_served_model_stopped(recovered, real_faces):
    """In training mode (dropout, batch statistics) the recovered net must behave like a trained net, not a broken
    one: re-calibrated batch norms keep its accuracy on mixed batches of training faces near its inference accuracy."""
    faces, labels = real_faces
    x = faces[..., None].astype("float32")
    inference = (recovered.predict(x, verbose=0).argmax(1) == labels).mean()
    training = np.mean([(np.asarray(recovered(x[i : i + 112], training=True)).argmax(1) == labels[i : i + 112]).mean()
                        for i in range(0, len(x), 112)])
    assert inference > 0.5  # it is the trained model
    assert training > inference - 0.1, (training, inference)


def test_init_from_a_model_folder_trains(tiny_fer, tmp_path, restore_policy):
    out = tmp_path / "ft"
    result = runner.invoke(app, ["train", "emotion", "--data", str(tiny_fer), "--arch", "default", "--epochs", "1",
                                 "--batch-size", "35", "--learning-rate", "1e-4", "--init-from", str(SINGLE_MODEL_DIR),
                                 "--out", str(out),
                                 "--no-mixed-precision"])
    assert result.exit_code == 0, result.output
    assert f"starting from the weights of {SINGLE_MODEL_DIR}" in result.output
    state = json.loads((out / "state" / "run.json").read_text())
    assert state["config"]["init_from"] == str(SINGLE_MODEL_DIR) and state["config"]["mixed_precision"] is False
    # One short epoch at a low learning rate keeps most of what run 4 knows: far above chance (1/7).
    assert state["best_val_accuracy"] > 0.4
    assert is_servable_folder(out / "model")


def test_init_from_refuses_what_it_cannot_read(tiny_fer, tmp_path, restore_policy):
    not_a_model = tmp_path / "empty"
    not_a_model.mkdir()
    result = runner.invoke(app, ["train", "emotion", "--data", str(tiny_fer), "--epochs", "1",
                                 "--init-from", str(not_a_model), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1
    expected = f"--init-from {not_a_model}: expected a training run folder (with run.json) or a model folder"
    assert expected in result.stderr

    ensemble = runner.invoke(app, ["train", "emotion", "--data", str(tiny_fer), "--epochs", "1",
                                   "--init-from", str(DEFAULT_MODEL_DIR), "--out", str(tmp_path / "run2")])
    assert ensemble.exit_code == 1 and ensemble.stderr.strip() == ensemble_refusal(DEFAULT_MODEL_DIR)
    assert not (tmp_path / "run" / "model").exists() and not (tmp_path / "run2" / "model").exists()


def test_int8_export_is_a_quarter_of_the_size_and_serves_what_float32_serves(exports):
    sizes = {quantization: (folder / "model.tflite").stat().st_size for quantization, folder in exports.items()}
    assert sizes["dynamic"] < sizes["none"] * 0.3
    faces = val_faces(8)
    float32 = EmotionModel(exports["none"]).predict_proba(faces)
    int8 = EmotionModel(exports["dynamic"]).predict_proba(faces)
    np.testing.assert_allclose(int8, float32, atol=0.1)
    assert (int8.argmax(1) == float32.argmax(1)).mean() >= 0.9


def test_a_quantized_model_folder_is_recovered_from_its_int8_weights(exports, real_faces):
    float32 = folded_weights(exports["none"] / "model.tflite")
    dequantized = folded_weights(exports["dynamic"] / "model.tflite")
    for (op, kernel, bias), (op_q, kernel_q, bias_q) in zip(float32, dequantized, strict=True):
        assert op == op_q and kernel.shape == kernel_q.shape
        # per output channel (last axis) the int8 step is max|w| / 127: rounding moves a weight half a step at most;
        # channels that weight decay has all but zeroed (max|w| ~ 1e-7 or less) may come back as zeros
        half_step = np.abs(kernel).max(axis=tuple(range(kernel.ndim - 1))) / 127 / 2
        assert np.all(np.abs(kernel_q - kernel) <= half_step * 1.0001 + 1e-6 * np.abs(kernel).max())
        np.testing.assert_array_equal(bias_q, bias)  # biases stay float32

    metadata = json.loads((exports["dynamic"] / "metadata.json").read_text())
    config = TrainConfig(**metadata["hyperparameters"])
    model = recover_keras_model(exports["dynamic"], real_faces[0], lambda: build_model(config))
    faces = val_faces(8).astype("float32")
    keras_proba = (model.predict(faces[..., None], verbose=0) + model.predict(faces[:, :, ::-1, None], verbose=0)) / 2
    served = EmotionModel(exports["dynamic"]).predict_proba(faces)
    np.testing.assert_allclose(keras_proba, served, atol=0.05)
    assert (keras_proba.argmax(1) == served.argmax(1)).mean() >= 0.95
