"""Served emotion models side by side: val accuracy on record, file size, ms per face as served.

    python -m benchmarks.bench_served [--model models/emotion models/candidates/wide-v1 ...] [--faces 700]

Each model folder is loaded the way the bot loads it (core.emotion.EmotionModel, one thread, its own test-time
augmentation) and timed on real FER2013 val faces, one face per call: p50 and p95 over --faces calls, the first
model in the list (by default the shipped one) first, so the table reads old beside new. Accuracy is the
``val`` figure the model's metadata.json records (``moodtunes evaluate`` measures it); this script only times.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from benchmarks.bench_pipeline import val_faces
from moodtunes.core.emotion import EmotionModel
from moodtunes.core.settings import DEFAULT_MODEL_DIR
from moodtunes.training.compare import served_ms_per_face


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", nargs="+", type=Path, default=[DEFAULT_MODEL_DIR],
                        help="served model folders (model.tflite + metadata.json)")
    parser.add_argument("--faces", type=int, default=700)
    args = parser.parse_args()

    faces = np.asarray(val_faces(args.faces))
    print(f"{'model':<28} {'version':<26} {'val':>8} {'MB':>6} {'views':>6} {'ms/face p50':>12} {'p95':>8}"
          f"   ({len(faces)} FER val faces, 1 thread, {os.cpu_count()} CPUs)")
    for folder in args.model:
        metadata = json.loads((folder / "metadata.json").read_text())
        accuracy = metadata.get("val", {}).get("accuracy")
        megabytes = (folder / "model.tflite").stat().st_size / 1e6
        # one thread, as `moodtunes train compare` times a candidate for its --max-ms rule
        p50, p95 = served_ms_per_face(EmotionModel(folder, threads=1), faces)
        views = 2 if metadata.get("tta_flip") else 1
        shown = os.path.relpath(folder)
        shown = shown if len(shown) <= 28 else "…" + shown[-27:]
        print(f"{shown:<28} {str(metadata.get('version', '?')):<26} "
              f"{'—' if accuracy is None else f'{accuracy * 100:.2f} %':>8} {megabytes:>6.1f} {views:>6} "
              f"{p50:>12.2f} {p95:>8.2f}")


if __name__ == "__main__":
    main()
