"""Average several finished runs' best checkpoints into one servable TFLite model.

    moodtunes train ensemble --member models/candidates/run4 --member runs/default-ft --out runs/ensemble

A member is a finished run folder (its best checkpoint) or a servable model folder of one network such as
models/candidates/run4, whose Keras model is recovered from its TFLite export (training/from_servable.py).

The members' softmax outputs are averaged inside one graph, so serving still makes one call per face.
Selection among single models and ensembles is made on val, like any other model choice.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from moodtunes.core.emotions import EMOTIONS
from moodtunes.core.evaluation import plot_confusion
from moodtunes.training.finalize import MODEL_FOLDER, PREPROCESSING, provenance, write_servable


def _read_member(source: Path):
    """(TrainConfig, summary for the metadata) of a training run (run or state folder) or a servable folder."""
    from moodtunes.training.from_servable import is_servable_folder, servable_config
    from moodtunes.training.train_emotion import read_run

    source = Path(source)
    if is_servable_folder(source):
        config, metadata = servable_config(source)
        summary = {"model": str(source), "version": metadata.get("version"), "best_epoch": metadata.get("best_epoch"),
                   "val_accuracy_as_served": metadata.get("val", {}).get("accuracy"),
                   "epochs": metadata.get("epochs_trained", 0), "training_seconds": metadata.get("training_seconds", 0),
                   "training_parts": metadata.get("training_parts", [])}  # older exports did not record them
    else:
        try:
            config, run = read_run(source)
        except FileNotFoundError:
            raise FileNotFoundError(f"{source}: neither a training run (run.json) nor a model folder "
                                    "(model.tflite and metadata.json)") from None
        summary = {"run": str(source), "best_epoch": run["best_epoch"],
                   "best_val_accuracy_single_view": round(run["best_val_accuracy"], 4),
                   "epochs": run["epochs_done"], "training_seconds": run["train_seconds"],
                   "training_parts": run.get("parts", [])}
    return config, {**summary, "arch": config.arch, "hyperparameters": asdict(config)}


def _member_model(summary: dict, config, train_images: np.ndarray):
    """The member's float32 Keras model: its run's selected weights, or recovered from its TFLite export."""
    from moodtunes.training.from_servable import recover_keras_model
    from moodtunes.training.models import build_model
    from moodtunes.training.train_emotion import run_model

    if "run" in summary:
        return run_model(Path(summary["run"]))
    return recover_keras_model(Path(summary["model"]), train_images, lambda: build_model(config))


def build_ensemble(members: list[Path], out: Path, quantization: str = "dynamic") -> Path:
    """Average the members (finished run folders or servable model folders, e.g. models/candidates/run4) into one model,
    exported with ``quantization`` (training.finalize.QUANTIZATIONS)."""
    import keras

    from moodtunes.training.fer_data import cached_splits

    if len(members) < 2:
        raise ValueError("an ensemble needs at least two --member runs")
    configs, summaries = zip(*(_read_member(member) for member in members), strict=True)
    sizes = {config.input_size for config in configs}
    if len(sizes) != 1:
        raise ValueError(f"members must share one input size, got {sorted(sizes)}")
    size = sizes.pop()
    data = Path(configs[0].data)
    out = Path(out)
    splits = cached_splits(data, size, out / "cache")
    loaded = [_member_model(summary, config, splits["train"].images) for summary, config in
              zip(summaries, configs, strict=True)]
    inputs = keras.Input((size, size, 1), name="face")
    outputs = keras.layers.Average(name="emotion")(
        [keras.Model(member.input, member.output, name=f"member_{i}")(inputs) for i, member in enumerate(loaded)])
    model = keras.Model(inputs, outputs, name="moodtunes_ensemble")

    metadata = {
        "version": f"ensemble{len(loaded)}-{datetime.now(UTC):%Y%m%d%H%M}",
        "architecture": "ensemble of " + ", ".join(config.arch for config in configs),
        "members": list(summaries),
        "classes": list(EMOTIONS),
        "input_size": size,
        "preprocessing": PREPROCESSING,
        "tta_flip": True,
        "parameters": int(model.count_params()),
        "data": {"train": f"{data} train split ({len(splits['train'])} faces)",
                 "selection": f"{data} val split = FER2013 PublicTest ({len(splits['val'])} faces): selects each "
                              "member's epoch and the shipped candidate; it is not a held-out test"},
        "epochs_trained": sum(summary["epochs"] for summary in summaries),
        "training_seconds": round(sum(summary["training_seconds"] for summary in summaries), 1),
        **provenance(),
    }
    report = write_servable(out / MODEL_FOLDER, model, metadata, splits, data, quantization)
    plot_confusion(report, out / "confusion_val.png", "ensemble on val")
    return out / MODEL_FOLDER
