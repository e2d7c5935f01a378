"""Per architecture: parameters, classifier ms per face (TFLite, 1 thread, batch 1) and training time per epoch.

    python -m benchmarks.bench_models [--archs default wide custom-cnn vgg16 vgg19 resnet50v2] [--steps 10]

ms/face is p50 over 100 faces, one view and as served (two views: the face and its mirror image), for the float32
export beside the int8-weight export that `moodtunes train` serves (training.finalize.QUANTIZATIONS: "none" and
"dynamic"). --steps 0 skips the training-step timing.

Training time per epoch is extrapolated from timed training steps (in the precision `moodtunes train` picks on
this CPU: bf16 where it is native, float32 elsewhere) on FER2013-sized batches:
steps_per_epoch = ceil(28,709 / batch_size). Weights are random: this measures cost, not accuracy
(docs/models.md has the accuracies of the models that were trained).
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

TRAIN_IMAGES = 28_709


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", nargs="+", default=["default", "wide", "custom-cnn", "vgg16", "vgg19", "resnet50v2"])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--input-size", type=int, default=48)
    args = parser.parse_args()

    import keras

    from moodtunes.training.finalize import export_tflite
    from moodtunes.training.train_emotion import build_model, default_config, uses_mixed_precision

    training_policy = "mixed_bfloat16" if uses_mixed_precision(default_config("default", data="unused")) else "float32"
    rows = []
    for arch in args.archs:
        config = default_config(arch, data="unused", input_size=args.input_size)
        keras.mixed_precision.set_global_policy("float32")
        model = build_model(config)
        face = np.random.default_rng(0).integers(0, 255, (1, args.input_size, args.input_size), dtype=np.uint8)
        size_mb, p50 = {}, {}
        for quantization in ("none", "dynamic"):
            with tempfile.TemporaryDirectory() as folder:
                export_tflite(model, Path(folder) / "model.tflite", quantization)
                size_mb[quantization] = (Path(folder) / "model.tflite").stat().st_size / 1e6
                p50.update(served_p50(Path(folder), face, args.input_size, quantization))
        epoch_min = training_minutes(arch, config, args, training_policy) if args.steps else float("nan")
        rows.append((arch, model.count_params(), size_mb, p50, epoch_min, config.batch_size))

    print(f"{'arch':<12} {'params':>12} {'MB f32':>7} {'MB int8':>8} {'ms/view f32':>12} {'ms/view int8':>13} "
          f"{'ms/face f32':>12} {'ms/face int8':>13} {'min/epoch':>10} {'batch':>6}   (input {args.input_size}x"
          f"{args.input_size}, 1 thread per face, {os.cpu_count()} CPUs, training in {training_policy}; "
          "ms/face = served, with the flip)")
    for arch, params, size_mb, p50, epoch_min, batch in rows:
        print(f"{arch:<12} {params:>12,} {size_mb['none']:>7.1f} {size_mb['dynamic']:>8.1f} "
              f"{p50['none', False]:>12.2f} {p50['dynamic', False]:>13.2f} {p50['none', True]:>12.2f} "
              f"{p50['dynamic', True]:>13.2f} {epoch_min:>10.1f} {batch:>6}")


def served_p50(folder: Path, face: np.ndarray, input_size: int, quantization: str) -> dict:
    """p50 ms of EmotionModel.predict_proba on one face, one thread: {(quantization, flip): ms}."""
    from moodtunes.core.emotion import EmotionModel

    p50 = {}
    for flip in (False, True):
        (folder / "metadata.json").write_text(
            '{"classes": ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"], '
            f'"input_size": {input_size}, "tta_flip": {str(flip).lower()}}}')
        served = EmotionModel(folder, threads=1)
        for _ in range(5):
            served.predict_proba(face)
        timings = []
        for _ in range(100):
            t0 = time.perf_counter()
            served.predict_proba(face)
            timings.append((time.perf_counter() - t0) * 1000)
        p50[quantization, flip] = float(np.median(timings))
    return p50


def training_minutes(arch: str, config, args, training_policy: str) -> float:
    """Minutes per FER2013 epoch, extrapolated from timed training steps in ``training_policy``."""
    import keras

    from moodtunes.training.train_emotion import build_model, make_optimizer

    keras.mixed_precision.set_global_policy(training_policy)
    trainable = build_model(config)
    trainable.compile(optimizer=make_optimizer(config, 100),
                      loss=keras.losses.CategoricalCrossentropy(), metrics=["accuracy"])
    x = np.random.default_rng(1).uniform(0, 255, (config.batch_size, args.input_size, args.input_size, 1))
    y = keras.utils.to_categorical(np.arange(config.batch_size) % 7, 7)
    trainable.train_on_batch(x, y)  # builds the graph
    t0 = time.perf_counter()
    for _ in range(args.steps):
        trainable.train_on_batch(x, y)
    per_step = (time.perf_counter() - t0) / args.steps
    return per_step * math.ceil(TRAIN_IMAGES / config.batch_size) / 60


if __name__ == "__main__":
    main()
