"""Train an emotion classifier on FER-style data, with per-epoch checkpoints and exact resume.

    moodtunes train emotion --data ../shared/data/fer2013 --arch default --out runs/default

The training split trains, the validation split selects (best checkpoint, early stopping); a test
split, if present, is only reported at the end. Output in --out: ``checkpoint.keras`` + ``state.json``
(every epoch, for --resume), ``best.keras``, and once finished the servable model folder
(``model.tflite`` + ``metadata.json``), training curves and a val confusion matrix.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from importlib import import_module
from pathlib import Path

import numpy as np

from core.emotions import EMOTIONS

# Model families: --arch name -> module in training.models with build(input_size, weights).
ARCHITECTURES = {
    "default": "training.models.default_cnn",
    "custom-cnn": "training.models.custom_cnn",
    "vgg16": "training.models.vgg16",
    "vgg19": "training.models.vgg19",
    "resnet50v2": "training.models.resnet50v2",
}


@dataclass
class TrainConfig:
    """Hyper-parameters of one run; stored in state.json so --resume continues the same run."""

    data: str
    arch: str = "default"
    out: str = "runs/default"
    epochs: int = 50
    input_size: int = 48
    weights: str = "none"
    batch_size: int = 128
    learning_rate: float = 2e-3
    lr_schedule: str = "warmup_cosine"  # or "constant" (the study's plain Adam)
    warmup_epochs: int = 2
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    # Class weights are (N / (K * n_c)) ** power: 0 ignores imbalance, 1 fully balances it.
    class_weight_power: float = 0.5
    early_stopping_patience: int = 15
    mixed_precision: bool | None = None  # bfloat16 compute; None: where the CPU computes bf16 natively
    seed: int = 1337
    max_train_images: int | None = None  # for smoke tests
    init_from: str | None = None  # a .keras checkpoint or servable model folder whose weights start this run
    extra: dict = field(default_factory=dict)


def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AMX or AVX512-BF16). Without it, bf16 training is emulated:
    six times slower than float32 on an AVX2-only EPYC, while it halves step time on a CPU with AMX."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def uses_mixed_precision(config: TrainConfig) -> bool:
    return native_bf16() if config.mixed_precision is None else config.mixed_precision


def default_config(arch: str, **overrides) -> TrainConfig:
    """A family's own training defaults (its module's TRAINING dict), then the caller's overrides."""
    module = import_module(ARCHITECTURES[arch])
    return TrainConfig(arch=arch, **{**getattr(module, "TRAINING", {}), **overrides})


def build_model(config: TrainConfig):
    module = import_module(ARCHITECTURES[config.arch])
    return module.build(config.input_size, config.weights)


def class_weights(counts: np.ndarray, power: float) -> np.ndarray:
    counts = np.maximum(counts, 1)
    weights = (counts.sum() / (len(counts) * counts)) ** power
    return weights / (weights * counts).sum() * counts.sum()  # mean weight per sample stays 1


def make_datasets(config: TrainConfig, splits):
    """tf.data pipelines: augmented one-hot training batches, plain validation batches."""
    import keras
    import tensorflow as tf

    train = splits["train"]
    x, y = train.images, train.labels
    if config.max_train_images:
        keep = np.random.default_rng(config.seed).permutation(len(y))[: config.max_train_images]
        x, y = x[keep], y[keep]
    weights = class_weights(np.bincount(y, minlength=len(EMOTIONS)), config.class_weight_power)

    augment = keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal"),
            keras.layers.RandomRotation(0.04, fill_mode="nearest"),  # about +-15 degrees
            keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest"),
            keras.layers.RandomZoom(0.1, fill_mode="nearest"),
            keras.layers.RandomBrightness(0.2, value_range=(0, 255)),
            keras.layers.RandomContrast(0.2),
        ],
        name="augment",
    )

    def to_example(image, label):
        image = tf.cast(image[..., None], tf.float32)
        return image, tf.one_hot(label, len(EMOTIONS)), tf.gather(weights.astype("float32"), label)

    def augment_batch(images, labels, sample_weights):
        images = tf.clip_by_value(augment(images, training=True), 0.0, 255.0)
        return images, labels, sample_weights

    train_ds = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(y), seed=config.seed, reshuffle_each_iteration=True)
        .map(to_example, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(config.batch_size)
        .map(augment_batch, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    val = splits["val"]
    val_ds = (
        tf.data.Dataset.from_tensor_slices((val.images[..., None].astype("float32"), tf.one_hot(val.labels, len(EMOTIONS))))
        .batch(256)
        .prefetch(tf.data.AUTOTUNE)
    )
    return train_ds, val_ds, math.ceil(len(y) / config.batch_size)


def learning_rate_schedule(config: TrainConfig, steps_per_epoch: int):
    if config.lr_schedule == "constant":
        return config.learning_rate
    if config.lr_schedule != "warmup_cosine":
        raise ValueError(f"lr_schedule must be warmup_cosine or constant, got {config.lr_schedule!r}")
    return warmup_cosine(config, steps_per_epoch)


def warmup_cosine(config: TrainConfig, steps_per_epoch: int):
    import keras

    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.learning_rate / 10,
        decay_steps=max(1, (config.epochs - config.warmup_epochs) * steps_per_epoch),
        warmup_target=config.learning_rate,
        warmup_steps=config.warmup_epochs * steps_per_epoch,
        alpha=0.0,
    )


class EpochCheckpoint:
    """Keras callback: after every epoch save the full model (with optimizer state) and state.json."""

    def __new__(cls, out: Path, config: TrainConfig, state: dict):
        import keras

        class _Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self._started = time.time()

            def on_epoch_end(self, epoch, logs=None):
                logs = {k: float(v) for k, v in (logs or {}).items()}
                logs["seconds"] = time.time() - self._started
                state["history"].append(logs)
                state["epochs_done"] = epoch + 1
                state["train_seconds"] += logs["seconds"]
                if logs.get("val_accuracy", -1) > state["best_val_accuracy"]:
                    state["best_val_accuracy"] = logs["val_accuracy"]
                    state["best_epoch"] = epoch + 1
                    self.model.save(out / "best.keras")
                # Write the model first, then the state that points at it, each atomically.
                self.model.save(out / "checkpoint.tmp.keras")
                os.replace(out / "checkpoint.tmp.keras", out / "checkpoint.keras")
                _write_json(out / "state.json", state)
                print(
                    f"epoch {epoch + 1}/{config.epochs}: val_accuracy {logs.get('val_accuracy', 0):.4f} "
                    f"(best {state['best_val_accuracy']:.4f} @ {state['best_epoch']}), {logs['seconds']:.0f}s",
                    flush=True,
                )
                if epoch + 1 - state["best_epoch"] >= config.early_stopping_patience:
                    print("early stopping: no val improvement", flush=True)
                    self.model.stop_training = True
                    state["stopped_early"] = True

        return _Callback()


def _write_json(path: Path, payload: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    os.replace(tmp, path)


def initial_weights(config: TrainConfig, train_images: np.ndarray) -> list[np.ndarray]:
    """Weights of --init-from: a .keras checkpoint, or a servable model folder (e.g. the shipped models/emotion)."""
    import keras

    from training.from_servable import is_servable_folder, recover_keras_model

    source = Path(config.init_from)
    if source.is_file() and source.suffix == ".keras":
        return keras.models.load_model(source).get_weights()
    if not is_servable_folder(source):
        raise FileNotFoundError(f"--init-from {source}: expected a .keras checkpoint or a folder with model.tflite "
                                "and metadata.json")
    # Recover in float32 whatever the training policy, then hand the weights to the training model.
    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        return recover_keras_model(source, train_images, lambda: build_model(config), seed=config.seed).get_weights()
    finally:
        keras.mixed_precision.set_global_policy(policy)


def train(config: TrainConfig, resume: Path | None = None) -> Path:
    """Run (or resume) training, then finalize. Returns the servable model folder."""
    import keras

    from training.fer_data import cached_splits

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    if resume is not None:
        resume = Path(resume)
        run_dir = resume.parent if resume.is_file() else resume
        state = json.loads((run_dir / "state.json").read_text())
        config = TrainConfig(**state["config"])
        out = run_dir
    else:
        state = {"config": asdict(config), "epochs_done": 0, "best_val_accuracy": -1.0, "best_epoch": 0,
                 "history": [], "train_seconds": 0.0, "stopped_early": False}

    if uses_mixed_precision(config):
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    keras.utils.set_random_seed(config.seed + state["epochs_done"])
    splits = cached_splits(Path(config.data), config.input_size, out / "cache")
    if "val" not in splits:
        raise FileNotFoundError(f"{config.data}: a validation split (val/ or PublicTest) is required for selection")
    train_ds, val_ds, steps_per_epoch = make_datasets(config, splits)

    finished = state["epochs_done"] >= config.epochs or state["stopped_early"]
    if not finished:
        if state["epochs_done"] > 0:
            model = keras.models.load_model(out / "checkpoint.keras")
            print(f"resuming {out} at epoch {state['epochs_done'] + 1}", flush=True)
        else:
            model = build_model(config)
            if config.init_from:
                model.set_weights(initial_weights(config, splits["train"].images))
                print(f"starting from the weights of {config.init_from}", flush=True)
            model.compile(
                optimizer=keras.optimizers.AdamW(learning_rate_schedule(config, steps_per_epoch),
                                                 weight_decay=config.weight_decay),
                loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
                metrics=["accuracy"],
            )
        model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=config.epochs,
            initial_epoch=state["epochs_done"],
            callbacks=[EpochCheckpoint(out, config, state)],
            shuffle=False,  # the dataset reshuffles itself every epoch
            verbose=1 if os.isatty(1) else 2,
        )
    keras.mixed_precision.set_global_policy("float32")
    from training.finalize import finalize

    return finalize(out, config, state, splits)
