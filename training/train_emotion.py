"""Train an emotion classifier on FER-style data with a training state that outlives the process.

    moodtunes train emotion --data ../shared/data/fer2013 --arch wide --out runs/wide-v1 \
        --state-dir models/training/wide-v1
    moodtunes train emotion --resume models/training/wide-v1      # later, on any machine, from a fresh clone

The training split trains (targets: original labels mixed with FER+ crowd votes where the family asks for it),
the validation split (FER2013 PublicTest) selects the best epoch; a test split, if present, is only reported.

The state folder (``--state-dir``, default OUT/state) is what a commit keeps: Keras' ``BackupAndRestore`` writes
the weights with the optimizer's state (``latest.weights.h5``, float32) and the epoch reached after every epoch,
``CSVLogger`` the per-epoch history, and ``run.json`` the configuration and the time spent on each machine.
Because every batch's order and augmentation are a function of (seed, batch index), a resumed run trains on
exactly the batches an uninterrupted one would. OUT keeps what is only worth having on this machine: the
decoded-face cache, the best epoch's weights (``best.weights.h5``) and, once finished, the servable model folder.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from moodtunes.core.emotions import EMOTIONS
from moodtunes.training.finalize import finalize
from moodtunes.training.models import ARCHITECTURES, build_model, family

__all__ = ["ARCHITECTURES", "TrainConfig", "build_model", "default_config", "train"]

RUN_FILE = "run.json"
LATEST_WEIGHTS = "latest.weights.h5"  # BackupAndRestore's file names
BACKUP_METADATA = "training_metadata.json"
HISTORY_FILE = "history.csv"
BEST_WEIGHTS = "best.weights.h5"


@dataclass
class TrainConfig:
    """Hyper-parameters of one run; stored in run.json so --resume continues the same run."""

    data: str
    arch: str = "default"
    out: str = "runs/default"
    state_dir: str | None = None  # the committed training state; None: OUT/state
    epochs: int = 50
    input_size: int = 48
    weights: str = "none"
    batch_size: int = 128
    optimizer: str = "adamw"  # or "sgd" (Nesterov momentum: one slot, half AdamW's state)
    learning_rate: float = 2e-3
    momentum: float = 0.9
    lr_schedule: str = "warmup_cosine"  # or "constant" (the study's plain Adam)
    warmup_epochs: int = 2
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    ferplus_weight: float = 0.0  # share of the target taken from the FER+ vote distribution
    teacher: str | None = None  # a served model folder whose outputs are distilled (training/distill.py)
    teacher_weight: float = 0.5  # share of the target taken from the teacher, where there is one
    # Class weights are (N / (K * n_c)) ** power: 0 ignores imbalance, 1 fully balances it.
    class_weight_power: float = 0.5
    # Extra weight for named classes on top of the power weights, e.g. {"fear": 1.5}: a cost the product sets
    # (recall of a class it must recognise), fixed before training; weights are renormalised to a mean of 1.
    class_boost: dict[str, float] = field(default_factory=dict)
    augmentation: str = "basic"  # training.augment.RECIPES
    early_stopping_patience: int = 15
    mixed_precision: bool | None = None  # bfloat16 compute; None: where the CPU computes bf16 natively
    seed: int = 1337
    max_train_images: int | None = None  # for smoke tests
    init_from: str | None = None  # a run folder or servable model folder whose weights start this run
    quantization: str = "dynamic"  # of the served export: training.finalize.QUANTIZATIONS
    extra: dict = field(default_factory=dict)

    @property
    def state_path(self) -> Path:
        return Path(self.state_dir) if self.state_dir else Path(self.out) / "state"


def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AMX or AVX512-BF16). Without it, bf16 training is emulated:
    six times slower than float32 on an AVX2-only EPYC, while it halves step time on a CPU with AMX."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def uses_mixed_precision(config: TrainConfig) -> bool:
    return native_bf16() if config.mixed_precision is None else config.mixed_precision


def default_config(arch: str, **overrides) -> TrainConfig:
    """A family's own training defaults (its module's TRAINING dict), then the caller's overrides."""
    return TrainConfig(arch=arch, **{**getattr(family(arch), "TRAINING", {}), **overrides})


def machine_description() -> dict:
    """CPU model, native bf16 and GPUs of this machine, for run.json and the model's metadata."""
    import tensorflow as tf

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpus = [device.name for device in tf.config.list_physical_devices("GPU")]
    return {"cpu": cpu, "cores": os.cpu_count(), "native_bf16": native_bf16(), "gpus": gpus}


# --- data -----------------------------------------------------------------------------------------------------

def class_weights(counts: np.ndarray, power: float, boost: dict[str, float] | None = None) -> np.ndarray:
    counts = np.maximum(counts, 1)
    weights = (counts.sum() / (len(counts) * counts)) ** power
    for emotion, factor in (boost or {}).items():
        weights[EMOTIONS.index(emotion)] *= factor
    return weights / (weights * counts).sum() * counts.sum()  # mean weight per sample stays 1


def training_arrays(config: TrainConfig, splits) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Training faces, their targets (mixed with FER+ votes and a teacher's outputs where configured), per-face
    class weights, faces with votes."""
    from moodtunes.training.distill import distilled_targets, teacher_probabilities
    from moodtunes.training.ferplus import mixed_targets

    faces = splits["train"]
    images, labels, paths = faces.images, faces.labels, faces.paths
    if config.max_train_images:
        keep = np.sort(np.random.default_rng(config.seed).permutation(len(labels))[: config.max_train_images])
        images, labels = images[keep], labels[keep]
        paths = None if paths is None else tuple(paths[i] for i in keep)
    targets, with_votes = mixed_targets(labels, paths, Path(config.data), config.ferplus_weight)
    if config.teacher:
        probs = teacher_probabilities(Path(config.teacher), images, Path(config.out) / "cache")
        targets = distilled_targets(targets, probs, config.teacher_weight)
    weights = class_weights(np.bincount(labels, minlength=len(EMOTIONS)), config.class_weight_power,
                            config.class_boost)
    return images, targets, weights[labels].astype(np.float32), with_votes


def training_dataset(config: TrainConfig, images, targets, sample_weights, first_epoch: int):
    """Augmented batches for epochs first_epoch .. epochs-1, epoch by epoch (no batch spans two epochs).

    Epoch e's order is a permutation drawn from (seed, e) and batch b's augmentation from (seed, b), b counted
    over the whole schedule: the same batches whether or not the run was interrupted."""
    import tensorflow as tf

    from moodtunes.training.augment import augment_batch

    n = len(images)
    steps = math.ceil(n / config.batch_size)
    orders = np.stack([np.random.default_rng([config.seed, epoch]).permutation(n)
                       for epoch in range(first_epoch, config.epochs)]).astype(np.int32)
    images = tf.constant(images[..., None])
    targets, sample_weights = tf.constant(targets), tf.constant(sample_weights)

    def batch(index, ids):
        seed = tf.stack([tf.constant(config.seed, tf.int64), index])
        x = augment_batch(tf.cast(tf.gather(images, ids), tf.float32), seed, config.augmentation)
        return x, tf.gather(targets, ids), tf.gather(sample_weights, ids)

    dataset = (
        tf.data.Dataset.from_tensor_slices(orders)
        .flat_map(lambda order: tf.data.Dataset.from_tensor_slices(order).batch(config.batch_size))
        .enumerate(start=first_epoch * steps)
        .map(batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .prefetch(tf.data.AUTOTUNE)
    )
    return dataset, steps


def validation_dataset(faces):
    import tensorflow as tf

    one_hot = np.eye(len(EMOTIONS), dtype=np.float32)[faces.labels]
    return tf.data.Dataset.from_tensor_slices((faces.images[..., None].astype("float32"), one_hot)).batch(256)


# --- model, optimizer, schedule ---------------------------------------------------------------------------------

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


def make_optimizer(config: TrainConfig, steps_per_epoch: int):
    import keras

    schedule = learning_rate_schedule(config, steps_per_epoch)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(schedule, momentum=config.momentum, nesterov=True,
                                    weight_decay=config.weight_decay or None)
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(schedule, weight_decay=config.weight_decay)
    raise ValueError(f"optimizer must be adamw or sgd, got {config.optimizer!r}")


def compiled_model(config: TrainConfig, steps_per_epoch: int):
    import keras

    model = build_model(config)
    model.compile(optimizer=make_optimizer(config, steps_per_epoch),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
                  metrics=["accuracy"])
    model.optimizer.build(model.trainable_variables)
    return model


# --- the run's state ---------------------------------------------------------------------------------------------

def read_run(path: Path) -> tuple[TrainConfig, dict]:
    """(config, run record) of a state folder, or of a run folder whose state is in OUT/state."""
    path = Path(path)
    for candidate in (path, path / "state"):
        if (candidate / RUN_FILE).is_file():
            run = json.loads((candidate / RUN_FILE).read_text())
            known = {f.name for f in fields(TrainConfig)}
            return TrainConfig(**{k: v for k, v in run["config"].items() if k in known}), run
    raise FileNotFoundError(f"{path}: no {RUN_FILE} here or in {path / 'state'}; nothing to resume")


def epochs_completed(state_dir: Path) -> int:
    metadata = Path(state_dir) / BACKUP_METADATA
    return json.loads(metadata.read_text())["epoch"] if metadata.is_file() else 0


def _write_json(path: Path, payload: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    os.replace(tmp, path)


def run_log_callback(state_dir: Path, run: dict, early_stopping=None):
    """Keras callback keeping run.json: epochs done, best val epoch, seconds per part (machine) of the run.
    Only ``early_stopping`` ending the fit marks the run finished early; a pause leaves it to be resumed."""
    import keras

    class RunLog(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.part = run["parts"][-1]

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.time()

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.time() - self.started
            self.part["epochs"] += 1
            self.part["seconds"] = round(self.part["seconds"] + seconds, 1)
            run["epochs_done"] = epoch + 1
            run["train_seconds"] = round(sum(p["seconds"] for p in run["parts"]), 1)
            val = float((logs or {}).get("val_accuracy", -1))
            if val > run["best_val_accuracy"]:
                run["best_val_accuracy"], run["best_epoch"] = val, epoch + 1
            _write_json(state_dir / RUN_FILE, run)
            print(f"epoch {epoch + 1}/{run['config']['epochs']}: val_accuracy {val:.4f} "
                  f"(best {run['best_val_accuracy']:.4f} @ {run['best_epoch']}), {seconds:.0f}s", flush=True)

        def on_train_end(self, logs=None):
            if early_stopping is not None and early_stopping.stopped_epoch > 0:
                run["stopped_early"] = True
                _write_json(state_dir / RUN_FILE, run)

    return RunLog()


def early_stopping_callback(config: TrainConfig):
    """Keras' EarlyStopping on val accuracy, watching only the second half of a cosine schedule: while the rate is
    high, val swings by several points from epoch to epoch and can go ``patience`` epochs without a new best."""
    import keras

    start = config.epochs // 2 if config.lr_schedule == "warmup_cosine" else 0
    return keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=config.early_stopping_patience,
                                         start_from_epoch=start)


def time_budget_callback(max_hours: float):
    """Keras callback pausing the fit after the last epoch expected to end within ``max_hours`` of its start
    (the next epoch is expected to take as long as the slowest so far). At least one epoch always runs."""
    import keras

    class TimeBudget(keras.callbacks.Callback):
        paused_after: int | None = None

        def on_train_begin(self, logs=None):
            self.deadline = time.time() + max_hours * 3600
            self.longest = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.time()

        def on_epoch_end(self, epoch, logs=None):
            now = time.time()
            self.longest = max(self.longest, now - self.started)
            if now + self.longest > self.deadline and epoch + 1 < self.params["epochs"]:
                self.model.stop_training = True
                self.paused_after = epoch + 1

    return TimeBudget()


def dropout_seeding_callback(seed: int):
    """Keras callback: at each epoch's start, set every dropout mask generator's state from (seed, epoch, layer).

    Keras saves weights and optimizer state but not the random generators' state, so without this a resumed run
    would draw other dropout masks than an uninterrupted one."""
    import keras

    class DropoutSeeding(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            generators = [layer.seed_generator for layer in self.model._flatten_layers()
                          if isinstance(getattr(layer, "seed_generator", None), keras.random.SeedGenerator)]
            for i, generator in enumerate(generators):
                dtype = generator.state.dtype
                generator.state.assign(np.array([seed + i, epoch], dtype=keras.backend.standardize_dtype(dtype)))

    return DropoutSeeding()


def initial_weights(config: TrainConfig, train_images: np.ndarray) -> list[np.ndarray]:
    """Weights of --init-from: a run folder or a servable model folder of one network (e.g. models/candidates/run4)."""
    import keras

    from moodtunes.training.from_servable import is_servable_folder, recover_keras_model

    source = Path(config.init_from)
    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")  # recover in float32 whatever the training policy
    try:
        if is_servable_folder(source):
            return recover_keras_model(source, train_images, lambda: build_model(config),
                                       seed=config.seed).get_weights()
        if not any((folder / RUN_FILE).is_file() for folder in (source, source / "state")):
            raise FileNotFoundError(f"--init-from {source}: expected a training run folder (with {RUN_FILE}) or a "
                                    "model folder (with model.tflite and metadata.json)")
        return run_model(source).get_weights()
    finally:
        keras.mixed_precision.set_global_policy(policy)


def run_model(folder: Path):
    """The float32 Keras model a run (folder or state folder) selected: its best epoch's weights where this
    machine still has them, else the latest epoch's."""
    import keras

    config, run = read_run(folder)
    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        best = Path(config.out) / BEST_WEIGHTS
        if best.is_file():
            model = build_model(config)
            model.load_weights(best)
            model.selected_epoch = run["best_epoch"]
            return model
        if not (config.state_path / LATEST_WEIGHTS).is_file():
            raise FileNotFoundError(f"{folder}: no trained weights ({best} or {config.state_path / LATEST_WEIGHTS})")
        model = compiled_model(config, steps_per_epoch=1)  # the optimizer's slots are in the file too
        model.load_weights(config.state_path / LATEST_WEIGHTS)
        model.selected_epoch = run["epochs_done"]
        return model
    finally:
        keras.mixed_precision.set_global_policy(policy)


def train(config: TrainConfig, resume: Path | None = None, max_hours: float | None = None) -> Path | None:
    """Run (or resume) training, then finalize. Returns the servable model folder, or None where ``max_hours``
    paused the run before its schedule ended (its state folder then continues it with ``resume``)."""
    import keras

    from moodtunes.training.fer_data import cached_splits

    if resume is not None:
        config, run = read_run(resume)
    else:
        run = {"config": asdict(config), "epochs_done": 0, "best_val_accuracy": -1.0, "best_epoch": 0,
               "train_seconds": 0.0, "stopped_early": False, "parts": []}
    out, state_dir = Path(config.out), config.state_path
    if resume is None and epochs_completed(state_dir):
        raise ValueError(f"{state_dir} already holds a run; continue it with --resume {state_dir}")
    out.mkdir(parents=True, exist_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    first_epoch = epochs_completed(state_dir)

    mixed = uses_mixed_precision(config)
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if mixed else "float32")
    keras.utils.set_random_seed(config.seed)
    splits = cached_splits(Path(config.data), config.input_size, out / "cache")
    if "val" not in splits:
        raise FileNotFoundError(f"{config.data}: a validation split (val/ or PublicTest) is required for selection")

    if first_epoch < config.epochs and not run["stopped_early"]:
        images, targets, sample_weights, with_votes = training_arrays(config, splits)
        train_ds, steps = training_dataset(config, images, targets, sample_weights, first_epoch)
        model = compiled_model(config, steps)
        if first_epoch == 0 and config.init_from:
            model.set_weights(initial_weights(config, splits["train"].images))
            print(f"starting from the weights of {config.init_from}", flush=True)
        if first_epoch:
            print(f"resuming {state_dir} at epoch {first_epoch + 1}", flush=True)
        if config.ferplus_weight:
            print(f"FER+ votes mixed into the targets of {with_votes} of {len(images)} faces", flush=True)
        if config.teacher:
            print(f"distilling {config.teacher} (weight {config.teacher_weight}) into {len(images)} targets",
                  flush=True)
        run["parts"].append({"machine": machine_description(), "precision": "bfloat16" if mixed else "float32",
                             "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                             "first_epoch": first_epoch + 1, "epochs": 0, "seconds": 0.0})
        _write_json(state_dir / RUN_FILE, run)
        early_stopping = early_stopping_callback(config)
        time_budget = [time_budget_callback(max_hours)] if max_hours is not None else []
        model.fit(
            train_ds,
            steps_per_epoch=steps,
            validation_data=validation_dataset(splits["val"]),
            epochs=config.epochs,
            initial_epoch=first_epoch,
            callbacks=[
                dropout_seeding_callback(config.seed),
                keras.callbacks.BackupAndRestore(str(state_dir), delete_checkpoint=False),
                keras.callbacks.ModelCheckpoint(out / BEST_WEIGHTS, monitor="val_accuracy", mode="max",
                                                save_best_only=True, save_weights_only=True,
                                                initial_value_threshold=run["best_val_accuracy"]),
                keras.callbacks.CSVLogger(str(state_dir / HISTORY_FILE), append=True),
                early_stopping,
                run_log_callback(state_dir, run, early_stopping),
                *time_budget,  # last: it decides after the state of this epoch is saved
            ],
            shuffle=False,  # the dataset orders each epoch itself
            verbose=1 if os.isatty(1) else 2,
        )
        if time_budget and time_budget[0].paused_after is not None:
            print(f"paused after epoch {time_budget[0].paused_after} of {config.epochs} (--max-hours {max_hours:g}); "
                  f"continue with: moodtunes train emotion --resume {state_dir}", flush=True)
            return None
    keras.mixed_precision.set_global_policy("float32")
    _, run = read_run(state_dir)
    return finalize(run_model(state_dir), config, run, splits, state_dir / HISTORY_FILE)
