"""`moodtunes train ensemble`: two real (tiny) runs averaged into one servable model, and its refusals."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from moodtunes.cli.main import app
from moodtunes.core.emotion import EmotionModel
from moodtunes.core.settings import DEFAULT_MODEL_DIR
from moodtunes.training.fer_data import load_splits
from moodtunes.training.ferplus import majority_labels
from moodtunes.training.finalize import export_tflite
from moodtunes.training.train_emotion import TrainConfig, run_model, train
from tests.helpers import SINGLE_MODEL_DIR, TINY_FER_VAL_PER_CLASS, ensemble_refusal, fer_faces

runner = CliRunner()


@pytest.fixture(scope="module")
def two_runs(tiny_fer, tmp_path_factory):
    """Two one-epoch custom-cnn runs with different seeds (the cheapest architecture)."""
    import keras

    root = tmp_path_factory.mktemp("ensemble-members")
    runs = []
    for seed in (1, 2):
        out = root / f"run{seed}"
        train(TrainConfig(data=str(tiny_fer), arch="custom-cnn", out=str(out), epochs=1, batch_size=32, seed=seed))
        runs.append(out)
    keras.mixed_precision.set_global_policy("float32")
    return runs


@pytest.mark.slow
def test_ensemble_serves_the_mean_of_its_members(two_runs, tiny_fer, tmp_path):
    out = tmp_path / "ensemble"
    result = runner.invoke(app, ["train", "ensemble", "--member", str(two_runs[0]), "--member", str(two_runs[1]),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    folder = out / "model"
    assert f"model written to {folder}" in result.stdout

    ensemble = EmotionModel(folder)
    members = [EmotionModel(run / "model") for run in two_runs]
    faces = np.concatenate([fer_faces("val", emotion, 3) for emotion in ("angry", "happy", "surprise")])
    expected = np.mean([member.predict_proba(faces) for member in members], axis=0)
    np.testing.assert_allclose(ensemble.predict_proba(faces), expected, atol=1e-5)

    metadata = json.loads((folder / "metadata.json").read_text())
    member_meta = [json.loads((run / "model" / "metadata.json").read_text()) for run in two_runs]
    assert [m["run"] for m in metadata["members"]] == [str(run) for run in two_runs]
    # each member's machine, precision and time per resumed part, as its run recorded them
    assert [m["training_parts"] for m in metadata["members"]] == [
        json.loads((run / "state" / "run.json").read_text())["parts"] for run in two_runs]
    assert "val split = FER2013 PublicTest" in metadata["data"]["selection"]
    assert metadata["parameters"] == sum(m["parameters"] for m in member_meta)
    assert metadata["val"]["n"] == 7 * TINY_FER_VAL_PER_CLASS
    # reported against the FER+ majority labels too, like a single run's export
    val = load_splits(tiny_fer, 48)["val"]
    majority = majority_labels(val.paths, tiny_fer)
    voted = majority >= 0
    served = EmotionModel(out / "model").predict_many(val.images[voted]).argmax(1)
    assert metadata["val_ferplus_majority"] == {"accuracy": round(float((served == majority[voted]).mean()), 4),
                                                "n": int(voted.sum())}
    # int8 weights by default: members and ensemble quantize the same kernels the same way, hence the exact mean
    assert metadata["quantization"].startswith("dynamic-range") and "val_float32" in metadata
    assert metadata["preprocessing"] == member_meta[0]["preprocessing"]
    assert (out / "confusion_val.png").is_file()


@pytest.mark.slow
def test_ensemble_takes_a_model_folder_as_a_member(two_runs, tmp_path):
    out = tmp_path / "with-run4"
    # float32 export: run 4's weights are float32, so the mean is exact only without int8 weights
    result = runner.invoke(app, ["train", "ensemble", "--member", str(two_runs[0]), "--member", str(SINGLE_MODEL_DIR),
                                 "--out", str(out), "--quantization", "none"])
    assert result.exit_code == 0, result.output

    # the run member as float32 too (its own model/ is served with int8 weights)
    float_member = tmp_path / "member-float32"
    float_member.mkdir()
    export_tflite(run_model(two_runs[0]), float_member / "model.tflite", "none")
    shutil.copy(two_runs[0] / "model" / "metadata.json", float_member / "metadata.json")
    faces = np.concatenate([fer_faces("val", emotion, 3) for emotion in ("fear", "neutral", "sad")])
    expected = np.mean([EmotionModel(float_member).predict_proba(faces),
                        EmotionModel(SINGLE_MODEL_DIR).predict_proba(faces)], axis=0)
    np.testing.assert_allclose(EmotionModel(out / "model").predict_proba(faces), expected, atol=1e-4)
    run4 = json.loads((SINGLE_MODEL_DIR / "metadata.json").read_text())
    member = json.loads((out / "model" / "metadata.json").read_text())["members"][1]
    assert member["model"] == str(SINGLE_MODEL_DIR) and member["version"] == run4["version"]
    assert member["training_parts"] == run4.get("training_parts", [])  # run 4 was exported before they were recorded


def test_ensemble_refuses_one_member_and_unfinished_runs(two_runs, tmp_path):
    one = runner.invoke(app, ["train", "ensemble", "--member", str(two_runs[0]), "--out", str(tmp_path / "a")])
    assert one.exit_code == 1 and "at least two" in one.stderr

    empty = tmp_path / "not-a-run"
    empty.mkdir()
    missing = runner.invoke(app, ["train", "ensemble", "--member", str(two_runs[0]), "--member", str(empty),
                                  "--out", str(tmp_path / "b")])
    assert missing.exit_code == 1 and "neither a training run" in missing.stderr
    unknown = runner.invoke(app, ["train", "ensemble", "--member", str(two_runs[0]), "--member", str(two_runs[1]),
                                  "--out", str(tmp_path / "c"), "--quantization", "fp8"])
    assert unknown.exit_code == 2 and unknown.stderr.strip() == "error: --quantization must be one of dynamic, none"
    # the shipped model is itself an ensemble: its graph is not one network a member can be rebuilt from
    nested = runner.invoke(app, ["train", "ensemble", "--member", str(two_runs[0]), "--member", str(DEFAULT_MODEL_DIR),
                                 "--out", str(tmp_path / "d")])
    assert nested.exit_code == 1 and nested.stderr.strip() == ensemble_refusal(DEFAULT_MODEL_DIR)
    assert not any((tmp_path / name).exists() for name in ("a", "b", "c", "d"))
