"""Export a run or a servable model folder again, e.g. with other weights storage, measured on val.

    moodtunes train export --source runs/wide-v1 --out runs/wide-v1-int8                 # a run (or its state)
    moodtunes train export --source models/candidates/run4 --out runs/default-int8      # a model folder
    moodtunes train export --source models/candidates/run4 --out runs/default-f32 --quantization none

A run exports the weights it selected (its best epoch where this machine has them, else the latest epoch: a run still
in progress can be looked at this way) through the same finalize step as the end of training. A servable folder's
Keras model is recovered from its TFLite file first (training/from_servable.py); its metadata is kept, the
measurements are made anew, ``exported_from`` names the source and the version gains ``-int8`` or ``-f32``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from moodtunes.training.finalize import (
    MODEL_FOLDER,
    QUANTIZATIONS,
    finalize,
    provenance,
    write_servable,
)

# Measurements of the source that the new export replaces rather than inherits.
MEASURED = ("val", "val_float32", "val_ferplus_majority", "test", "sha256", "size_bytes", "quantization",
            "created", "training_machine")


def export_model(source: Path, out: Path, quantization: str = "dynamic", data: Path | None = None) -> Path:
    """Write OUT/model from ``source`` (a run folder, a run's state folder or a servable model folder) with
    ``quantization``; ``data`` replaces the face folder the source was trained on (for its val and calibration)."""
    from moodtunes.training.fer_data import cached_splits
    from moodtunes.training.from_servable import is_servable_folder, recover_keras_model, servable_config
    from moodtunes.training.models import build_model
    from moodtunes.training.train_emotion import HISTORY_FILE, read_run, run_model

    if quantization not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {', '.join(QUANTIZATIONS)}, got {quantization!r}")
    source, out = Path(source), Path(out)
    if is_servable_folder(source):
        config, metadata = servable_config(source)
        data = Path(data or config.data)
        splits = cached_splits(data, config.input_size, out / "cache")
        model = recover_keras_model(source, splits["train"].images, lambda: build_model(config), seed=config.seed)
        version = f"{metadata.get('version', source.name)}-{'int8' if quantization == 'dynamic' else 'f32'}"
        metadata = {k: v for k, v in metadata.items() if k not in MEASURED} | {
            "version": version, "exported_from": str(source), **provenance()}
        folder = out / MODEL_FOLDER
        write_servable(folder, model, metadata, splits, data, quantization)
        return folder
    try:
        config, run = read_run(source)
    except FileNotFoundError:
        raise FileNotFoundError(f"{source}: neither a training run (run.json) nor a model folder "
                                "(model.tflite and metadata.json)") from None
    # before OUT changes: the best epoch's weights, and by default the state, live under the run's own OUT
    model, history = run_model(source), config.state_path / HISTORY_FILE
    config = replace(config, out=str(out), quantization=quantization, data=str(data or config.data))
    splits = cached_splits(Path(config.data), config.input_size, out / "cache")
    return finalize(model, config, run, splits, history)
