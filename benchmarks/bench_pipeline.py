"""Pipeline latency by stage, classifier ms per face, KNN ms per query (686 and 250k tracks), peak memory.

    python -m benchmarks.bench_pipeline [--photos 60] [--knn-queries 2000]

Photos are real (scikit-image's astronaut, plus flipped/tilted/greyscale variants) scaled to 1280 px.
Prints a table; docs/performance.md quotes it.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import string
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pandas as pd
from PIL import Image, ImageOps

from moodtunes.core.catalog_build import served_catalog
from moodtunes.core.emotions import EMOTIONS
from moodtunes.core.mood import MOODS
from moodtunes.core.pipeline import Pipeline
from moodtunes.core.recommender import CATALOG_COLUMNS, FEATURES, Recommender
from moodtunes.core.settings import PROJECT_ROOT, Settings
from moodtunes.training.compare import served_ms_per_face

FER_VAL = PROJECT_ROOT.parent / "shared" / "data" / "fer2013" / "val"


def real_photos(n: int, side: int = 1280) -> list[bytes]:
    from skimage import data

    base = Image.fromarray(data.astronaut()).resize((side, side), Image.Resampling.LANCZOS)
    variants = [base, ImageOps.mirror(base), base.rotate(8, resample=Image.Resampling.BILINEAR),
                base.rotate(-8, resample=Image.Resampling.BILINEAR), ImageOps.grayscale(base).convert("RGB")]
    photos = []
    for i in range(n):
        buffer = io.BytesIO()
        variants[i % len(variants)].save(buffer, "JPEG", quality=90)
        photos.append(buffer.getvalue())
    return photos


def val_faces(count: int) -> list[np.ndarray]:
    """``count`` real val faces, the same number from each emotion's folder (sorted, so every run times the same)."""
    faces = []
    for emotion in EMOTIONS:
        for path in sorted((FER_VAL / emotion).iterdir())[: count // len(EMOTIONS)]:
            faces.append(np.asarray(Image.open(path).convert("L")))
    return faces


def percentiles(values: list[float]) -> tuple[float, float]:
    return float(np.percentile(values, 50)), float(np.percentile(values, 95))


def synthetic_catalog(real: pd.DataFrame, n: int, seed: int = 0) -> pd.DataFrame:
    """n tracks drawn per mood from a Gaussian fitted to the real catalog's features."""
    rng = np.random.default_rng(seed)
    alphabet = np.array(list(string.ascii_letters + string.digits))
    frames = []
    for mood in MOODS:
        part = real[real["mood"] == mood][list(FEATURES)].to_numpy(float)
        samples = rng.multivariate_normal(part.mean(0), np.cov(part.T), size=n // len(MOODS))
        frame = pd.DataFrame(samples, columns=list(FEATURES))
        frame["mood"] = mood
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    frame["id"] = ["".join(row) for row in rng.choice(alphabet, size=(len(frame), 22))]
    for column in CATALOG_COLUMNS:
        if column not in frame:
            frame[column] = "synthetic" if column in ("name", "album", "artist", "release_date") else 0.0
    return frame


def knn_ms(recommender: Recommender, queries: int) -> float:
    rng = np.random.default_rng(1)
    moods = recommender.moods
    started = time.perf_counter()
    for i in range(queries):
        recommender.recommend(moods[i % len(moods)], exclude=frozenset({f"x{rng.integers(1e9)}"}))
    return (time.perf_counter() - started) * 1000 / queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=60)
    parser.add_argument("--faces", type=int, default=700)
    parser.add_argument("--knn-queries", type=int, default=2000)
    parser.add_argument("--big-catalog", type=int, default=250_000)
    args = parser.parse_args()

    settings = Settings(_env_file=None)
    started = time.perf_counter()
    pipeline = Pipeline.from_settings(settings)
    pipeline.warm_up(background=False)
    startup = time.perf_counter() - started

    rows: list[tuple[str, str, str]] = []
    photos = real_photos(args.photos)
    stages: dict[str, list[float]] = {k: [] for k in ("decode", "detect_align", "classify", "recommend")}
    totals: list[float] = []
    for photo in photos[:3]:
        pipeline.recommend_photo(photo)  # warm caches
    for photo in photos:
        t0 = time.perf_counter()
        result = pipeline.recommend_photo(photo)
        totals.append((time.perf_counter() - t0) * 1000)
        assert len(result.tracks) == 5, "benchmark photo lost its face"
        for key in stages:
            stages[key].append(result.timings_ms[key])
    for key, values in stages.items():
        p50, p95 = percentiles(values)
        rows.append((f"photo stage: {key}", f"{p50:.1f} ms", f"{p95:.1f} ms"))
    p50, p95 = percentiles(totals)
    rows.append((f"photo end to end (1280 px JPEG, n={len(photos)})", f"{p50:.1f} ms", f"{p95:.1f} ms"))

    faces = val_faces(args.faces)
    p50, p95 = served_ms_per_face(pipeline.model, np.asarray(faces))  # INFERENCE_THREADS, 1 by default
    threads = f"{settings.inference_threads} thread" + ("s" if settings.inference_threads > 1 else "")
    rows.append((f"classifier per face ({threads}, flip TTA, n={len(faces)})", f"{p50:.2f} ms", f"{p95:.2f} ms"))

    real = served_catalog(settings)
    rows.append((f"KNN per query, {len(real)} tracks", f"{knn_ms(Recommender(real), args.knn_queries):.3f} ms", "mean"))
    big = synthetic_catalog(real, args.big_catalog)
    t0 = time.perf_counter()
    big_recommender = Recommender(big)
    build = time.perf_counter() - t0
    rows.append((f"KNN per query, {len(big):,} synthetic tracks", f"{knn_ms(big_recommender, args.knn_queries):.3f} ms",
                 "mean"))
    rows.append((f"KNN index build, {len(big):,} tracks", f"{build:.2f} s", ""))
    rows.append(("pipeline start-up (load + warm-up)", f"{startup:.2f} s", ""))
    rows.append(("peak RSS", f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB", ""))

    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'p50 / value':>12}  {'p95':>10}")
    print("-" * (width + 26))
    for name, a, b in rows:
        print(f"{name:<{width}}  {a:>12}  {b:>10}")
    print(f"\nmachine: {os.cpu_count()} CPUs; model {pipeline.model_version}")


if __name__ == "__main__":
    main()
