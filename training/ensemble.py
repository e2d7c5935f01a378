"""Average several finished runs' best checkpoints into one servable TFLite model.

    moodtunes train ensemble --member runs/default --member runs/default-ft --out runs/ensemble

The members' softmax outputs are averaged inside one graph, so serving still makes one call per face.
Selection among single models and ensembles is made on val, like any other model choice.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from core.emotions import EMOTIONS
from training.finalize import MODEL_FOLDER, PREPROCESSING, float32_copy, plot_confusion, provenance, write_servable


def build_ensemble(run_dirs: list[Path], out: Path) -> Path:
    import keras

    from training.fer_data import cached_splits
    from training.train_emotion import TrainConfig

    if len(run_dirs) < 2:
        raise ValueError("an ensemble needs at least two --member runs")
    members, states = [], []
    for i, run in enumerate(run_dirs):
        run = Path(run)
        if not (run / "best.keras").is_file() or not (run / "state.json").is_file():
            raise FileNotFoundError(f"{run}: not a finished training run (best.keras and state.json expected)")
        state = json.loads((run / "state.json").read_text())
        config = TrainConfig(**state["config"])
        copy = float32_copy(keras.models.load_model(run / "best.keras"), config)
        members.append(keras.Model(copy.input, copy.output, name=f"member_{i}"))
        states.append((run, config, state))
    sizes = {config.input_size for _, config, _ in states}
    if len(sizes) != 1:
        raise ValueError(f"members must share one input size, got {sorted(sizes)}")
    size = sizes.pop()
    inputs = keras.Input((size, size, 1), name="face")
    outputs = keras.layers.Average(name="emotion")([member(inputs) for member in members])
    model = keras.Model(inputs, outputs, name="moodtunes_ensemble")

    first_run, first_config, _ = states[0]
    splits = cached_splits(Path(first_config.data), size, first_run / "cache")
    metadata = {
        "version": f"ensemble{len(members)}-{datetime.now(timezone.utc):%Y%m%d%H%M}",
        "architecture": "ensemble of " + ", ".join(config.arch for _, config, _ in states),
        "members": [{"run": str(run), "arch": config.arch, "best_epoch": state["best_epoch"],
                     "best_val_accuracy_single_view": round(state["best_val_accuracy"], 4),
                     "hyperparameters": state["config"]} for run, config, state in states],
        "classes": list(EMOTIONS),
        "input_size": size,
        "preprocessing": PREPROCESSING,
        "tta_flip": True,
        "parameters": int(model.count_params()),
        "data": {"train": f"{first_config.data} train split ({len(splits['train'])} faces)",
                 "selection": f"{first_config.data} val split ({len(splits['val'])} faces): best epoch per member, "
                              "then single model vs ensemble"},
        "epochs_trained": sum(state["epochs_done"] for _, _, state in states),
        "training_seconds": round(sum(state["train_seconds"] for _, _, state in states), 1),
        **provenance(),
    }
    out = Path(out)
    report = write_servable(out / MODEL_FOLDER, model, metadata, splits)
    plot_confusion(report, out / "confusion_val.png", "ensemble on val")
    return out / MODEL_FOLDER
