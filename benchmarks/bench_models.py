"""Per architecture: parameters, classifier ms per face (TFLite, 1 thread, batch 1) and training time per epoch.

    python -m benchmarks.bench_models [--archs default wide custom-cnn vgg16 vgg19 resnet50v2] [--steps 10]

ms/face is p50 over 100 faces, one view and as served (two views: the face and its mirror image).

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

    from moodtunes.core.emotion import EmotionModel
    from moodtunes.training.finalize import export_tflite
    from moodtunes.training.train_emotion import build_model, default_config, make_optimizer, uses_mixed_precision

    training_policy = "mixed_bfloat16" if uses_mixed_precision(default_config("default", data="unused")) else "float32"
    rows = []
    for arch in args.archs:
        config = default_config(arch, data="unused", input_size=args.input_size)
        keras.mixed_precision.set_global_policy("float32")
        model = build_model(config)
        face = np.random.default_rng(0).integers(0, 255, (1, args.input_size, args.input_size), dtype=np.uint8)
        with tempfile.TemporaryDirectory() as folder:
            export_tflite(model, Path(folder) / "model.tflite")
            size_mb = (Path(folder) / "model.tflite").stat().st_size / 1e6
            p50 = {}
            for flip in (False, True):
                (Path(folder) / "metadata.json").write_text(
                    '{"classes": ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"], '
                    f'"input_size": {args.input_size}, "tta_flip": {str(flip).lower()}}}')
                served = EmotionModel(Path(folder), threads=1)
                for _ in range(5):
                    served.predict_proba(face)
                timings = []
                for _ in range(100):
                    t0 = time.perf_counter()
                    served.predict_proba(face)
                    timings.append((time.perf_counter() - t0) * 1000)
                p50[flip] = float(np.median(timings))
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
        epoch_min = per_step * math.ceil(TRAIN_IMAGES / config.batch_size) / 60
        rows.append((arch, model.count_params(), size_mb, p50[False], p50[True], epoch_min, config.batch_size))

    print(f"{'arch':<12} {'params':>12} {'tflite MB':>10} {'ms/view':>8} {'ms/face served':>15} {'min/epoch':>10} "
          f"{'batch':>6}   (input {args.input_size}x{args.input_size}, {os.cpu_count()} CPUs, training in "
          f"{training_policy})")
    for arch, params, size_mb, ms_view, ms_served, epoch_min, batch in rows:
        print(f"{arch:<12} {params:>12,} {size_mb:>10.1f} {ms_view:>8.2f} {ms_served:>15.2f} {epoch_min:>10.1f} "
              f"{batch:>6}")


if __name__ == "__main__":
    main()
