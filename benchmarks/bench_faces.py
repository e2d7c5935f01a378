"""Face detection old beside new: time, recall and false faces, in one run.

    python -m benchmarks.bench_faces [--repeats 20]

Columns: "old" is MTCNN alone (what MoodTunes served before), "new" is the served detector (BlazeFace first,
MTCNN for what is not a clear selfie), "BlazeFace alone" shows what dropping MTCNN would cost.
Time: detect + align (every face cropped, aligned, equalised) on decoded photos (JPEGs decoded as the pipeline
does), one thread, old and new calls interleaved so both see the same machine load; and the whole photo, bytes to
tracks, through the pipeline. Cells: wall p50 / p95 and, in brackets, the process's CPU time p50.
Recall: scikit-image's astronaut and its variants, astronaut copies and FER2013 Training faces pasted into
canvases; false faces: scikit-image's face-free photos. Prints the table docs/faces.md quotes.
"""

from __future__ import annotations

import argparse
import io
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from PIL import Image

from benchmarks.face_canvases import (
    ASTRONAUT_FACE,
    Photo,
    astronaut,
    astronaut_recall_set,
    face_free_photos,
    fer_canvas,
    fer_paths,
    matches,
)
from moodtunes.core.faces import FaceDetector
from moodtunes.core.intake import load_image
from moodtunes.core.pipeline import Pipeline
from moodtunes.core.settings import Settings


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def astronaut_group(n: int, sides: tuple[int, int], rng: np.random.Generator, size=(1280, 960)) -> Photo:
    """``n`` astronaut copies of random sides pasted side by side (rows, no overlap) into a grey canvas."""
    base, canvas, boxes = astronaut(), Image.new("RGB", size, (170, 175, 180)), []
    x = y = row_height = 0
    for _ in range(n):
        side = int(rng.integers(*sides))
        if x + side > size[0]:
            x, y, row_height = 0, y + row_height, 0
        if y + side > size[1]:
            break
        canvas.paste(base.resize((side, side), Image.Resampling.LANCZOS), (x, y))
        f = side / 512
        boxes.append((x + ASTRONAUT_FACE[0] * f, y + ASTRONAUT_FACE[1] * f, x + ASTRONAUT_FACE[2] * f,
                      y + ASTRONAUT_FACE[3] * f))
        x, row_height = x + side, max(row_height, side)
    return Photo(f"{len(boxes)} astronauts", canvas, tuple(boxes))


def fer_groups(rng: np.random.Generator) -> dict[int, list[Photo]]:
    faces = [np.asarray(Image.open(p).convert("L")) for p in fer_paths("train", per_class=12, seed=3)]
    order = rng.permutation(len(faces))
    faces = [faces[i] for i in order]
    groups: dict[int, list[Photo]] = {1: [], 3: [], 12: []}
    start = 0
    for n, count in ((1, 8), (3, 6), (12, 3)):
        for _ in range(count):
            groups[n].append(fer_canvas(faces[start:start + n], rng, face_side=(110, 240)))
            start += n
    return groups


def timed(call) -> tuple[float, float]:
    """(wall ms, CPU ms of this process) of one call. On a shared machine the wall time includes waiting for a
    core; the CPU time does not, and for single-threaded work it is what the wall time is on an idle core."""
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def cell(samples: list[tuple[float, float]]) -> str:
    wall, cpu = np.array(samples).T
    return f"{np.percentile(wall, 50):.1f} / {np.percentile(wall, 95):.1f} (cpu {np.percentile(cpu, 50):.1f}) ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    settings = Settings(_env_file=None)
    kwargs = dict(max_side=settings.detect_max_side, min_face_size=settings.min_face_size)
    detectors = {"old": FaceDetector(blazeface=False, **kwargs), "new": FaceDetector(**kwargs),
                 "BlazeFace alone": FaceDetector(mtcnn=False, **kwargs)}
    rng = np.random.default_rng(0)

    selfie = astronaut().resize((1280, 1280), Image.Resampling.LANCZOS)
    timing_sets = {
        "1280-px one-face photo (astronaut)": [jpeg(selfie), jpeg(selfie.rotate(8)), jpeg(selfie.rotate(-8))],
        "1 face: FER face in 1280x960": [jpeg(p.image) for p in fer_groups(rng)[1][:3]],
        "3 faces: astronauts in 1280x960": [jpeg(astronaut_group(3, (300, 420), rng).image) for _ in range(3)],
        "12 faces: astronauts in 1280x960": [jpeg(astronaut_group(12, (250, 320), rng).image) for _ in range(3)],
    }
    rows: list[tuple[str, ...]] = []
    for name, photos in timing_sets.items():
        times = {k: [] for k in detectors}
        images = [load_image(photo, draft_side=settings.detect_max_side) for photo in photos]
        for detector in detectors.values():  # warm up on these very photos
            for image in images:
                detector.detect(image)
        for _ in range(args.repeats):
            for image in images:
                for key, detector in detectors.items():
                    times[key].append(timed(lambda d=detector, i=image: d.detect(i)))
        rows.append((f"detect + align: {name}", *(cell(t) for t in times.values())))

    # Whole photo, bytes to tracks, through the pipeline (same model and catalog, only the detector differs).
    base = Pipeline.from_settings(settings)
    pipelines = {key: Pipeline(detector=d, model=base.model, mood_map=base.mood_map, recommender=base.recommender,
                               settings=settings) for key, d in detectors.items()}
    totals = {k: [] for k in pipelines}
    photos = timing_sets["1280-px one-face photo (astronaut)"]
    for _ in range(args.repeats):
        for photo in photos:
            for key, pipeline in pipelines.items():
                totals[key].append(timed(lambda p=pipeline, ph=photo: p.recommend_photo(ph)))
    rows.append(("photo end to end: 1280-px one-face JPEG", *(cell(t) for t in totals.values())))

    def found(detector: FaceDetector, photo: Photo) -> tuple[int, int]:
        return matches([c.box for c in detector.detect(photo.image)], photo.faces)

    recall_sets = [[p] for p in astronaut_recall_set()]
    recall_sets.append([astronaut_group(12, (250, 320), rng) for _ in range(3)])
    fer = fer_groups(np.random.default_rng(1))
    recall_sets += [fer[1], fer[3], fer[12]]
    labels = [s[0].name for s in recall_sets[:-4]] + ["3 x 12 astronauts in 1280x960 (faces 58-75 px)",
                                                      "8 x 1 FER face in 1280x960", "6 x 3 FER faces in 1280x960",
                                                      "3 x 12 FER faces in 1280x960"]
    total = {k: [0, 0] for k in detectors}
    n_total = 0
    for label, photos in zip(labels, recall_sets, strict=True):
        n = sum(len(p.faces) for p in photos)
        n_total += n
        cells = []
        for key, detector in detectors.items():
            hit = sum(found(detector, p)[0] for p in photos)
            extra = sum(found(detector, p)[1] for p in photos)
            total[key][0] += hit
            total[key][1] += extra
            cells.append(f"{hit}/{n}" + (f" +{extra} false" if extra else ""))
        rows.append((f"recall: {label}", *cells))
    rows.append(("recall: all of the above", *(f"{h}/{n_total}" + (f" +{e} false" if e else "")
                                               for h, e in total.values())))
    free = face_free_photos()
    cells = []
    for detector in detectors.values():
        false = {p.name: len(detector.detect(p.image)) for p in free}
        named = ", ".join(f"{k} {v}" for k, v in false.items() if v)
        cells.append(f"{sum(false.values())}" + (f" ({named})" if named else ""))
    rows.append((f"false faces on {len(free)} face-free photos", *cells))

    width = max(len(r[0]) for r in rows + [("measure (time: wall p50 / p95, cpu p50)",)])
    widths = [max(len(r[i]) for r in rows + [("", *detectors)]) for i in range(1, len(detectors) + 1)]
    header = "measure (time: wall p50 / p95, cpu p50)"
    print(f"{header:<{width}}  " + "  ".join(f"{k:>{w}}" for k, w in zip(detectors, widths, strict=True)))
    print("-" * (width + sum(widths) + 2 * len(widths) + 2))
    for row in rows:
        print(f"{row[0]:<{width}}  " + "  ".join(f"{c:>{w}}" for c, w in zip(row[1:], widths, strict=True)))
    print(f"\nmachine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; detectors and classifier on "
          f"1 thread; model {base.model_version}")


if __name__ == "__main__":
    main()
