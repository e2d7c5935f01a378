"""train() end to end on a tiny real FER subset: committed state, exact resume, finalize; fer2013.csv; precision."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, replace

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from moodtunes.cli.main import app
from moodtunes.core.emotion import EmotionModel, file_sha256
from moodtunes.core.emotions import EMOTIONS
from moodtunes.training import train_emotion
from moodtunes.training.fer_data import load_splits
from moodtunes.training.train_emotion import LATEST_WEIGHTS, TrainConfig, compiled_model, default_config, train
from tests.helpers import TINY_FER_VAL_PER_CLASS, fer_faces

# fer2013.csv numbers its classes in this order, not ours.
CSV_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# Kept by a commit: everything in the state folder (the run folder is ignored by git).
COMMITTED = {"latest.weights.h5", "training_metadata.json", "history.csv", "run.json"}


class Interrupted(Exception):
    """Stands in for a killed process."""


def tiny_config(tiny_fer, tmp_path, name: str) -> TrainConfig:
    """The wide family's recipe (SGD, strong augmentation, FER+ votes) on the default net, two short epochs."""
    recipe = asdict(default_config("wide", data=str(tiny_fer)))
    return TrainConfig(**{**recipe, "arch": "default", "out": str(tmp_path / name),
                          "state_dir": str(tmp_path / f"{name}-state"), "epochs": 2, "batch_size": 32,
                          "warmup_epochs": 1, "mixed_precision": False})


def trained_variables(config: TrainConfig) -> list[np.ndarray]:
    """Model weights and optimizer state as stored in the run's committed state."""
    model = compiled_model(config, steps_per_epoch=1)
    model.load_weights(config.state_path / LATEST_WEIGHTS)
    return [np.asarray(v) for v in model.weights] + [np.asarray(v) for v in model.optimizer.variables]


@pytest.mark.slow
def test_resumed_from_committed_state_equals_an_uninterrupted_run(tiny_fer, tmp_path, monkeypatch, restore_policy):
    uninterrupted = tiny_config(tiny_fer, tmp_path, "whole")
    train(uninterrupted)

    # The same run killed right after epoch 1 was saved ...
    interrupted = tiny_config(tiny_fer, tmp_path, "parts")
    real_run_log = train_emotion.run_log_callback

    def crash_after_first_epoch(state_dir, run, early_stopping):
        callback = real_run_log(state_dir, run, early_stopping)
        on_epoch_end = callback.on_epoch_end

        def end(epoch, logs=None):
            on_epoch_end(epoch, logs)
            raise Interrupted

        callback.on_epoch_end = end
        return callback

    monkeypatch.setattr(train_emotion, "run_log_callback", crash_after_first_epoch)
    with pytest.raises(Interrupted):
        train(interrupted)
    monkeypatch.setattr(train_emotion, "run_log_callback", real_run_log)
    state = interrupted.state_path
    assert {p.name for p in state.iterdir()} == COMMITTED
    assert json.loads((state / "run.json").read_text())["epochs_done"] == 1

    # ... then continued on a fresh clone: only the state folder survives, the run folder (cache, best epoch) not.
    shutil.rmtree(interrupted.out)
    folder = train(TrainConfig(data="ignored on resume"), resume=state)

    for whole, parts in zip(trained_variables(uninterrupted), trained_variables(interrupted), strict=True):
        np.testing.assert_array_equal(whole, parts)
    run = json.loads((state / "run.json").read_text())
    assert run["epochs_done"] == 2 and len(run["parts"]) == 2
    assert [part["epochs"] for part in run["parts"]] == [1, 1]
    assert run["train_seconds"] == pytest.approx(sum(part["seconds"] for part in run["parts"]), abs=0.2)
    history = (state / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,") and [line.split(",")[0] for line in history[1:]] == ["0", "1"]

    # finalize: a servable folder whose metadata says what selected it, where and how long it trained.
    assert folder == tmp_path / "parts" / "model"
    metadata = json.loads((folder / "metadata.json").read_text())
    served = EmotionModel(folder)
    assert metadata["classes"] == list(EMOTIONS) and metadata["input_size"] == served.input_size == 48
    assert "PublicTest" in metadata["data"]["selection"] and "not a held-out test" in metadata["data"]["selection"]
    assert "FER+ votes" in metadata["data"]["train"]
    assert metadata["epochs_trained"] == 2 and metadata["training_seconds"] == run["train_seconds"]
    assert metadata["training_parts"][0]["machine"]["cpu"] and metadata["training_parts"][0]["precision"] == "float32"
    assert metadata["sha256"] == file_sha256(folder / "model.tflite")
    assert metadata["val"]["n"] == 7 * TINY_FER_VAL_PER_CLASS and metadata["val_ferplus_majority"]["n"] > 0
    # served with int8 weights by default; the float32 export's val accuracy and size are kept beside it
    assert metadata["quantization"].startswith("dynamic-range")
    assert 0 <= metadata["val_float32"]["accuracy"] <= 1
    assert metadata["size_bytes"] < metadata["val_float32"]["size_bytes"] / 3
    np.testing.assert_allclose(served.predict_proba(fer_faces("val", "happy", 4)).sum(axis=1), 1.0, atol=1e-5)
    for plot in ("training_curves.png", "confusion_val.png"):
        with Image.open(tmp_path / "parts" / plot) as image:
            assert image.format == "PNG"


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--quantization", "int4", "error: --quantization must be one of dynamic, none"),
    ("--augmentation", "heavy", "error: --augmentation must be one of basic, strong"),
    ("--weights", "places365", "error: --weights must be one of imagenet, none"),
])
def test_cli_refuses_an_unknown_choice(tiny_fer, tmp_path, option, value, message):
    result = CliRunner().invoke(app, ["train", "emotion", "--data", str(tiny_fer), option, value,
                                      "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert result.stderr.strip() == message
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_cli_resume_continues_in_place_and_refuses_to_overwrite(tiny_fer, tmp_path, monkeypatch, restore_policy):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    args = ["train", "emotion", "--data", str(tiny_fer), "--arch", "custom-cnn", "--out", "runs/a",
            "--state-dir", "kept/a", "--epochs", "1", "--batch-size", "64", "--no-mixed-precision"]
    first = runner.invoke(app, [*args, "--quantization", "none", "--augmentation", "strong"])
    assert first.exit_code == 0, first.output
    metadata = json.loads((tmp_path / "runs/a/model/metadata.json").read_text())
    assert metadata["quantization"].startswith("none") and "val_float32" not in metadata
    assert metadata["hyperparameters"]["augmentation"] == "strong"  # custom-cnn's own recipe is basic
    again = runner.invoke(app, args)
    assert again.exit_code == 1 and "already holds a run; continue it with --resume kept/a" in again.stderr

    shutil.rmtree("runs")
    resumed = runner.invoke(app, ["train", "emotion", "--resume", "kept/a"])
    assert resumed.exit_code == 0, resumed.output
    assert "model written to runs/a/model" in resumed.stdout
    # the resumed run keeps the run's own export settings
    assert json.loads((tmp_path / "runs/a/model/metadata.json").read_text())["quantization"].startswith("none")
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["a"]  # no stray runs/default


@pytest.mark.slow
def test_cli_max_hours_pauses_at_an_epoch_end_and_resume_finishes(tiny_fer, tmp_path, monkeypatch, restore_policy):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    # a budget no epoch fits in: the first epoch still runs, then the run pauses with its state saved
    paused = runner.invoke(app, ["train", "emotion", "--data", str(tiny_fer), "--arch", "custom-cnn", "--out",
                                 "runs/a", "--state-dir", "kept/a", "--epochs", "2", "--batch-size", "64",
                                 "--no-mixed-precision", "--max-hours", "0.000001"])
    assert paused.exit_code == 0, paused.output
    assert "paused after epoch 1 of 2 (--max-hours 1e-06); continue with: moodtunes train emotion --resume kept/a" \
        in paused.stdout
    assert "model written" not in paused.stdout and not (tmp_path / "runs/a/model").exists()
    run = json.loads((tmp_path / "kept/a/run.json").read_text())
    assert run["epochs_done"] == 1 and run["stopped_early"] is False
    assert json.loads((tmp_path / "kept/a/training_metadata.json").read_text())["epoch"] == 1

    # a budget the rest of the schedule fits in: the run ends and is exported as usual
    resumed = runner.invoke(app, ["train", "emotion", "--resume", "kept/a", "--max-hours", "5"])
    assert resumed.exit_code == 0, resumed.output
    assert "model written to runs/a/model" in resumed.stdout and "paused" not in resumed.stdout
    run = json.loads((tmp_path / "kept/a/run.json").read_text())
    assert run["epochs_done"] == 2 and [part["epochs"] for part in run["parts"]] == [1, 1]
    assert json.loads((tmp_path / "runs/a/model/metadata.json").read_text())["epochs_trained"] == 2


@pytest.mark.parametrize(("stopped_epoch", "finished_early"), [(0, False), (7, True)])
def test_only_early_stopping_marks_a_run_finished_early(tmp_path, stopped_epoch, finished_early):
    import keras

    run = {"config": {"epochs": 10}, "epochs_done": 8, "stopped_early": False, "parts": []}
    early_stopping = keras.callbacks.EarlyStopping(monitor="val_accuracy")
    early_stopping.stopped_epoch = stopped_epoch  # what Keras sets when it ends the fit
    train_emotion.run_log_callback(tmp_path, run, early_stopping).on_train_end()
    assert run["stopped_early"] is finished_early
    if finished_early:  # written where --resume reads it, so a finished run is not continued
        assert json.loads((tmp_path / "run.json").read_text())["stopped_early"] is True


def stopped_at(config: TrainConfig, val_accuracy: list[float]) -> int | None:
    """The epoch (0-based) at which the run's EarlyStopping ends a fit that sees this val trace, or None."""
    import keras

    callback = train_emotion.early_stopping_callback(config)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.stop_training = False  # what fit() sets before the first epoch
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, accuracy in enumerate(val_accuracy):
        callback.on_epoch_end(epoch, {"val_accuracy": accuracy})
        if callback.model.stop_training:
            return epoch
    return None


def test_early_stopping_watches_only_the_second_half_of_a_cosine_schedule(tiny_fer):
    # a high-rate phase like default-v3's: a best at epoch 10, then 14+ epochs of noise below it
    noisy_start = [0.58 if epoch == 9 else 0.55 for epoch in range(45)]
    settled = [0.66] + [0.65] * 44
    cosine = default_config("default", data=str(tiny_fer), epochs=90, early_stopping_patience=15)
    assert stopped_at(cosine, noisy_start + settled) == 45 + 15  # 15 epochs without a new best after epoch 45
    constant = replace(cosine, lr_schedule="constant")
    assert stopped_at(constant, noisy_start + settled) == 9 + 15  # the whole run is watched


@pytest.mark.parametrize("hours", ["0", "-1"])
def test_cli_refuses_a_max_hours_that_is_not_positive(tiny_fer, tmp_path, hours):
    result = CliRunner().invoke(app, ["train", "emotion", "--data", str(tiny_fer), "--max-hours", hours,
                                      "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: --max-hours must be above 0"
    assert not (tmp_path / "run").exists()


def test_fer2013_csv_splits_and_class_order(tmp_path):
    # Real faces written as fer2013.csv rows: one face per class in each of the three Usage splits.
    sources = {"Training": ("train", 0), "PublicTest": ("val", 0), "PrivateTest": ("val", 1)}
    expected = {}
    lines = ["emotion,pixels,Usage"]
    for usage, (folder, index) in sources.items():
        faces = [fer_faces(folder, emotion, index + 1)[index] for emotion in CSV_CLASSES]
        expected[usage] = np.stack(faces)
        for csv_label, face in enumerate(faces):
            lines.append(f"{csv_label},{' '.join(map(str, face.ravel()))},{usage}")
    (tmp_path / "fer2013.csv").write_text("\n".join(lines) + "\n")

    ours = [EMOTIONS.index(emotion) for emotion in CSV_CLASSES]  # sad 4 -> 5, surprise 5 -> 6, neutral 6 -> 4
    for data in (tmp_path, tmp_path / "fer2013.csv"):
        splits = load_splits(data)
        assert set(splits) == {"train", "val", "test"}
        for usage, split in (("Training", "train"), ("PublicTest", "val"), ("PrivateTest", "test")):
            assert splits[split].labels.tolist() == ours
            np.testing.assert_array_equal(splits[split].images, expected[usage])
    assert load_splits(tmp_path, size=32)["train"].images.shape == (7, 32, 32)


def test_face_folders_keep_the_paths_the_ferplus_votes_use(tiny_fer):
    train_faces = load_splits(tiny_fer)["train"]
    assert len(train_faces.paths) == len(train_faces)
    first = train_faces.paths[0]
    assert first.startswith("train/angry/") and (tiny_fer / first).is_file()


@pytest.mark.parametrize("native", [True, False])
def test_precision_follows_the_cpu_unless_told(monkeypatch, native):
    monkeypatch.setattr(train_emotion, "native_bf16", lambda: native)
    assert train_emotion.uses_mixed_precision(TrainConfig(data="x")) is native
    assert train_emotion.uses_mixed_precision(TrainConfig(data="x", mixed_precision=True)) is True
    assert train_emotion.uses_mixed_precision(TrainConfig(data="x", mixed_precision=False)) is False


def test_native_bf16_reads_this_cpus_flags():
    with open("/proc/cpuinfo") as cpuinfo:
        flags = cpuinfo.read().split()
    assert train_emotion.native_bf16() == ("amx_bf16" in flags or "avx512_bf16" in flags)


def test_class_boost_multiplies_the_named_classes_per_face_weight(tiny_fer):
    splits = load_splits(tiny_fer)
    plain = default_config("default", data=str(tiny_fer), class_weight_power=0.25)
    boosted = replace(plain, class_boost={"fear": 1.5, "sad": 1.25})
    _, _, plain_weights, _ = train_emotion.training_arrays(plain, splits)
    _, _, boosted_weights, _ = train_emotion.training_arrays(boosted, splits)
    labels = splits["train"].labels

    def per_class(weights):
        return {emotion: weights[labels == i][0] for i, emotion in enumerate(EMOTIONS)}

    before, after = per_class(plain_weights), per_class(boosted_weights)
    assert after["fear"] / after["angry"] == pytest.approx(1.5 * before["fear"] / before["angry"], rel=1e-5)
    assert after["sad"] / after["happy"] == pytest.approx(1.25 * before["sad"] / before["happy"], rel=1e-5)
    assert after["angry"] / after["happy"] == pytest.approx(before["angry"] / before["happy"], rel=1e-5)
    assert boosted_weights.mean() == pytest.approx(1.0, rel=1e-5)  # renormalised: the learning rate means the same


@pytest.mark.parametrize("boost", ["fear", "joy=2", "fear=0", "fear=much"])
def test_cli_refuses_a_malformed_class_boost(tiny_fer, tmp_path, boost):
    result = CliRunner().invoke(app, ["train", "emotion", "--data", str(tiny_fer), "--class-boost", boost,
                                      "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: --class-boost must be EMOTION=FACTOR with EMOTION one of angry, disgust, fear, happy, neutral, sad, "
        f"surprise and FACTOR above 0, got {boost!r}")
    assert not (tmp_path / "run").exists()
