"""train() end to end on a tiny real FER subset: per-epoch checkpoints, exact resume, finalize; fer2013.csv."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from PIL import Image

from core.emotion import EmotionModel, file_sha256
from core.emotions import EMOTIONS
from tests.conftest import fer_faces
from tests.training.conftest import VAL_PER_CLASS
from training import train_emotion
from training.fer_data import load_splits
from training.train_emotion import TrainConfig, build_model, train

# fer2013.csv numbers its classes in this order, not ours.
CSV_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
EPOCH_CHECKPOINT = train_emotion.EpochCheckpoint  # the real one, before any test wraps it


class Interrupted(Exception):
    """Stands in for a killed process."""


def observed_checkpoints(seen: list, crash_after_epoch: int | None = None):
    """Wrap EpochCheckpoint: after each epoch record what is on disk, optionally crash like a killed run."""

    def factory(out, config, state):
        callback = EPOCH_CHECKPOINT(out, config, state)
        on_epoch_end = callback.on_epoch_end

        def record(epoch, logs=None):
            on_epoch_end(epoch, logs)
            saved = json.loads((out / "state.json").read_text())
            seen.append({"epoch": epoch + 1, "checkpoint": (out / "checkpoint.keras").is_file(),
                         "epochs_done": saved["epochs_done"]})
            if epoch + 1 == crash_after_epoch:
                raise Interrupted

        callback.on_epoch_end = record
        return callback

    return factory


@pytest.mark.slow
def test_train_checkpoints_every_epoch_resumes_and_finalizes(tiny_fer, tmp_path, monkeypatch, capsys, restore_policy):
    out = tmp_path / "run"
    config = TrainConfig(data=str(tiny_fer), arch="default", out=str(out), epochs=2)
    seen: list[dict] = []

    # A 2-epoch run killed right after epoch 1 was saved.
    monkeypatch.setattr(train_emotion, "EpochCheckpoint", observed_checkpoints(seen, crash_after_epoch=1))
    with pytest.raises(Interrupted):
        train(config)
    interrupted = json.loads((out / "state.json").read_text())
    assert interrupted["epochs_done"] == 1 and len(interrupted["history"]) == 1
    assert not (out / "model").exists()

    # --resume continues at epoch 2 from the checkpoint and the stored config.
    monkeypatch.setattr(train_emotion, "EpochCheckpoint", observed_checkpoints(seen))
    folder = train(TrainConfig(data="ignored on resume"), resume=out)
    assert f"resuming {out} at epoch 2" in capsys.readouterr().out
    assert seen == [{"epoch": 1, "checkpoint": True, "epochs_done": 1}, {"epoch": 2, "checkpoint": True, "epochs_done": 2}]
    state = json.loads((out / "state.json").read_text())
    assert state["epochs_done"] == 2 and state["config"] == interrupted["config"]
    assert state["history"][0] == interrupted["history"][0]  # epoch 1 was kept, not re-run
    assert (out / "checkpoint.keras").is_file() and (out / "best.keras").is_file()

    # finalize: a servable folder whose metadata describes the exported model.
    assert folder == out / "model"
    metadata = json.loads((folder / "metadata.json").read_text())
    served = EmotionModel(folder)  # checks classes and that the TFLite input shape matches input_size
    assert metadata["classes"] == list(EMOTIONS)
    assert metadata["input_size"] == served.input_size == 48
    best = keras.models.load_model(out / "best.keras")
    assert metadata["parameters"] == best.count_params() == build_model(TrainConfig(**state["config"])).count_params()
    assert metadata["sha256"] == file_sha256(folder / "model.tflite")
    assert metadata["epochs_trained"] == 2 and metadata["val"]["n"] == 7 * VAL_PER_CLASS
    faces = fer_faces("val", "happy", 4)
    np.testing.assert_allclose(served.predict_proba(faces).sum(axis=1), 1.0, atol=1e-5)
    for plot in ("training_curves.png", "confusion_val.png"):
        with Image.open(out / plot) as image:
            assert image.format == "PNG"


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


@pytest.mark.parametrize("native", [True, False])
def test_precision_follows_the_cpu_unless_told(monkeypatch, native):
    monkeypatch.setattr(train_emotion, "native_bf16", lambda: native)
    assert train_emotion.uses_mixed_precision(TrainConfig(data="x")) is native
    assert train_emotion.uses_mixed_precision(TrainConfig(data="x", mixed_precision=True)) is True
    assert train_emotion.uses_mixed_precision(TrainConfig(data="x", mixed_precision=False)) is False


def test_native_bf16_reads_this_cpus_flags():
    flags = open("/proc/cpuinfo").read().split()
    assert train_emotion.native_bf16() == ("amx_bf16" in flags or "avx512_bf16" in flags)
