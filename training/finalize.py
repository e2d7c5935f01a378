"""Turn a finished run into a servable model folder: TFLite export (int8 weights by default), metadata, curves,
confusion matrix."""

from __future__ import annotations

import contextlib
import io
import json
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from moodtunes.core.emotion import METADATA_FILE, MODEL_FILE, EmotionModel, file_sha256
from moodtunes.core.emotions import EMOTIONS
from moodtunes.core.evaluation import EvaluationReport, evaluate_predictions, plot_confusion

MODEL_FOLDER = "model"
PREPROCESSING = ("face crop aligned by the eyes, greyscale, resized to input_size x input_size, "
                 "raw 0-255 float32 pixels (the model rescales), shape (n, size, size, 1)")


def served_folder(folder: Path) -> Path:
    """A model folder as given, or a finished run's exported ``model/`` inside it."""
    folder = Path(folder)
    if (folder / MODEL_FOLDER).is_dir() and not (folder / MODEL_FILE).exists():
        return folder / MODEL_FOLDER
    return folder


def provenance() -> dict:
    """Where and when a servable model was made, for its metadata."""
    return {"training_machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
            "created": datetime.now(UTC).isoformat(timespec="seconds")}


# How the served TFLite file stores the weights. "dynamic": int8 weights with per-channel scales, float activations
# (TFLite's dynamic-range quantization): a quarter of the size and 4-5x faster per face on one CPU thread, for about
# 0.1 point of val accuracy on the default model (docs/models.md, "Serving: int8 weights"). "none": float32.
QUANTIZATIONS = {
    "dynamic": "dynamic-range: int8 weights (per-channel scales), float32 activations",
    "none": "none: float32 weights",
}


def export_tflite(keras_model, path: Path, quantization: str = "none") -> None:
    import tensorflow as tf

    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {', '.join(QUANTIZATIONS)}, got {quantization!r}")
    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    if quantization == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]  # without a representative dataset: dynamic range
    # Keras prints the saved artifact's whole signature while converting; the admin needs none of it.
    with contextlib.redirect_stdout(io.StringIO()):
        model_bytes = converter.convert()
    path.write_bytes(model_bytes)


def plot_curves(history_csv: Path, path: Path) -> None:
    """Loss and accuracy per epoch, train beside val, from the run's CSVLogger file."""
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = pd.read_csv(history_csv)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for key, ax in (("loss", ax_loss), ("accuracy", ax_acc)):
        for column in (key, f"val_{key}"):
            if column in history:
                ax.plot(history["epoch"] + 1, history[column], label=column.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def evaluate_served(model: EmotionModel, faces) -> EvaluationReport:
    probs = model.predict_many(faces.images)
    return evaluate_predictions(faces.labels, probs.argmax(axis=1))


def float32_reference(keras_model, metadata: dict, faces) -> dict:
    """Val accuracy and file size of the float32 export, to record what quantizing the served file cost."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        export_tflite(keras_model, folder / MODEL_FILE, "none")
        (folder / METADATA_FILE).write_text(json.dumps(metadata))
        report = evaluate_served(EmotionModel(folder), faces)
        return {"accuracy": report.accuracy, "per_class": report.as_dict()["per_class"],
                "size_bytes": (folder / MODEL_FILE).stat().st_size}


def write_servable(folder: Path, keras_model, metadata: dict, splits: dict, data_dir: Path,
                   quantization: str = "dynamic") -> EvaluationReport:
    """Export ``keras_model`` to ``folder`` as TFLite + metadata, measured as served (val, and test if given).
    A quantized export also records the float32 export's val accuracy (``val_float32``) beside its own, and where
    ``data_dir`` has FER+ votes the accuracy against their majority labels (``val_ferplus_majority``)."""
    folder.mkdir(parents=True, exist_ok=True)
    export_tflite(keras_model, folder / MODEL_FILE, quantization)
    metadata["quantization"] = QUANTIZATIONS[quantization]
    (folder / METADATA_FILE).write_text(json.dumps(metadata, indent=2))
    served = EmotionModel(folder)
    started = time.perf_counter()
    val_report = evaluate_served(served, splits["val"])
    metadata["val"] = val_report.as_dict() | {"seconds": round(time.perf_counter() - started, 2)}
    if quantization != "none":
        metadata["val_float32"] = float32_reference(keras_model, metadata, splits["val"])
    if agreement := ferplus_agreement(served, splits["val"], data_dir):
        metadata["val_ferplus_majority"] = agreement
    if "test" in splits:  # reported only, never used for any choice
        metadata["test"] = evaluate_served(served, splits["test"]).as_dict()
    metadata["sha256"] = file_sha256(folder / MODEL_FILE)
    metadata["size_bytes"] = (folder / MODEL_FILE).stat().st_size
    (folder / METADATA_FILE).write_text(json.dumps(metadata, indent=2))
    print(f"exported {folder}: val accuracy {val_report.accuracy:.4f} on {val_report.n} faces", flush=True)
    return val_report


def ferplus_agreement(model: EmotionModel, faces, data_dir: Path) -> dict | None:
    """Accuracy against the FER+ majority label, on the faces that have FER+ votes."""
    from moodtunes.training.ferplus import majority_labels

    majority = majority_labels(faces.paths, data_dir)
    voted = majority >= 0
    if not voted.any():
        return None
    predicted = model.predict_many(faces.images[voted]).argmax(axis=1)
    return {"accuracy": round(float((predicted == majority[voted]).mean()), 4), "n": int(voted.sum())}


def finalize(model, config, run: dict, splits: dict, history_csv: Path) -> Path:
    """Export ``model`` (the run's selected epoch) to OUT/model, quantized as the run's config says, and describe
    it. Numbers come from the exported model, as served."""
    out = Path(config.out)
    folder = out / MODEL_FOLDER
    parts = run["parts"]
    metadata = {
        "version": f"{config.arch}-{datetime.now(UTC):%Y%m%d%H%M}",
        "architecture": config.arch,
        "classes": list(EMOTIONS),
        "input_size": config.input_size,
        "preprocessing": PREPROCESSING,
        "tta_flip": True,
        "parameters": int(model.count_params()),
        "data": {"train": f"{config.data} train split ({len(splits['train'])} faces)"
                          + (f", targets mixed with FER+ votes (weight {config.ferplus_weight})"
                             if config.ferplus_weight else "")
                          + (f", distilled from {config.teacher} (weight {config.teacher_weight})"
                             if config.teacher else ""),
                 "selection": f"{config.data} val split = FER2013 PublicTest ({len(splits['val'])} faces): "
                              "selects the epoch and the shipped candidate; it is not a held-out test"},
        "epochs_trained": run["epochs_done"],
        "best_epoch": run["best_epoch"],
        "exported_epoch": model.selected_epoch,
        "training_seconds": run["train_seconds"],
        "training_parts": parts,
        "hyperparameters": run["config"],
        **provenance(),
    }
    val_report = write_servable(folder, model, metadata, splits, Path(config.data), config.quantization)
    if history_csv.is_file():
        plot_curves(history_csv, out / "training_curves.png")
    plot_confusion(val_report, out / "confusion_val.png", f"{config.arch} on val")
    return folder
