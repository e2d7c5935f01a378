"""Turn a finished run into a servable model folder: float32 TFLite export, metadata, curves, confusion matrix."""

from __future__ import annotations

import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from core.emotion import METADATA_FILE, MODEL_FILE, EmotionModel, file_sha256
from core.emotions import EMOTIONS
from core.evaluation import EvaluationReport, evaluate_predictions

MODEL_FOLDER = "model"
PREPROCESSING = ("face crop aligned by the eyes, greyscale, resized to input_size x input_size, "
                 "raw 0-255 float32 pixels (the model rescales), shape (n, size, size, 1)")


def provenance() -> dict:
    """Where and when a servable model was made, for its metadata."""
    return {"training_machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def export_tflite(keras_model, path: Path) -> None:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    path.write_bytes(converter.convert())


def float32_copy(trained, config):
    """Rebuild the architecture under the float32 policy and copy the (bf16-trained) weights in."""
    from dataclasses import replace

    from training.train_emotion import build_model

    model = build_model(replace(config, weights="none"))  # the trained weights replace any initial ones
    model.set_weights(trained.get_weights())
    return model


def plot_curves(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = range(1, len(history) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for key, ax in (("loss", ax_loss), ("accuracy", ax_acc)):
        ax.plot(epochs, [h.get(key, np.nan) for h in history], label=f"train {key}")
        ax.plot(epochs, [h.get(f"val_{key}", np.nan) for h in history], label=f"val {key}")
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion(report: EvaluationReport, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.asarray(report.confusion, dtype=float)
    normalised = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(EMOTIONS)), EMOTIONS, rotation=45, ha="right")
    ax.set_yticks(range(len(EMOTIONS)), EMOTIONS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(EMOTIONS)):
        for j in range(len(EMOTIONS)):
            ax.text(j, i, f"{normalised[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if normalised[i, j] > 0.5 else "black")
    ax.set_title(f"{title}: accuracy {report.accuracy:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def evaluate_served(model: EmotionModel, faces) -> EvaluationReport:
    probs = model.predict_many(faces.images)
    return evaluate_predictions(faces.labels, probs.argmax(axis=1))


def write_servable(folder: Path, keras_model, metadata: dict, splits: dict) -> EvaluationReport:
    """Export ``keras_model`` to ``folder`` as TFLite + metadata, measured as served (val, and test if given)."""
    folder.mkdir(parents=True, exist_ok=True)
    export_tflite(keras_model, folder / MODEL_FILE)
    (folder / METADATA_FILE).write_text(json.dumps(metadata, indent=2))
    served = EmotionModel(folder)
    started = time.perf_counter()
    val_report = evaluate_served(served, splits["val"])
    metadata["val"] = val_report.as_dict() | {"seconds": round(time.perf_counter() - started, 2)}
    if "test" in splits:  # reported only, never used for any choice
        metadata["test"] = evaluate_served(served, splits["test"]).as_dict()
    metadata["sha256"] = file_sha256(folder / MODEL_FILE)
    metadata["size_bytes"] = (folder / MODEL_FILE).stat().st_size
    (folder / METADATA_FILE).write_text(json.dumps(metadata, indent=2))
    print(f"exported {folder}: val accuracy {val_report.accuracy:.4f} on {val_report.n} faces", flush=True)
    return val_report


def finalize(out: Path, config, state: dict, splits: dict) -> Path:
    """Export the best checkpoint and describe it. Numbers come from the exported model, as served."""
    import keras

    out = Path(out)
    folder = out / MODEL_FOLDER
    best = keras.models.load_model(out / "best.keras")
    model = float32_copy(best, config)
    metadata = {
        "version": f"{config.arch}-{datetime.now(timezone.utc):%Y%m%d%H%M}",
        "architecture": config.arch,
        "classes": list(EMOTIONS),
        "input_size": config.input_size,
        "preprocessing": PREPROCESSING,
        "tta_flip": True,
        "parameters": int(model.count_params()),
        "data": {"train": f"{config.data} train split ({len(splits['train'])} faces)",
                 "selection": f"{config.data} val split ({len(splits['val'])} faces): best epoch by val accuracy"},
        "epochs_trained": state["epochs_done"],
        "best_epoch": state["best_epoch"],
        "training_seconds": round(state["train_seconds"], 1),
        "hyperparameters": state["config"],
        **provenance(),
    }
    val_report = write_servable(folder, model, metadata, splits)
    plot_curves(state["history"], out / "training_curves.png")
    plot_confusion(val_report, out / "confusion_val.png", f"{config.arch} on val")
    return folder
