"""Fit the crop framing to FER2013's own: paste FER Training faces into bigger face-free photos, detect them, and
find where the pasted 48 x 48 frame sits relative to the detected eyes.

    python -m benchmarks.bench_framing [--per-class 60]

For each detector, the first half of the faces fits the frame (medians, in units of the eye distance); the other
half scores it: IoU of the predicted square with the pasted one, and the pixel correlation of the served crop
(aligned, histogram-equalised, 48 x 48) with the original FER face. PublicTest is never used.
Prints the table docs/faces.md quotes; the fitted numbers go into core.faces.FRAMES.
"""

from __future__ import annotations

import argparse
import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from PIL import Image

from benchmarks.face_canvases import backgrounds, fer_paths
from moodtunes.core.faces import BlazeFaceFinder, FaceFrame, Found, MtcnnFinder, aligned_crop, fer_frame

CANVAS = (480, 360)  # the detector's own working size, so no downscale blurs the comparison
OLD_MARGIN = 0.15  # the framing served before: box centre, larger box side * 1.15


def pasted_faces(per_class: int, seed: int = 0, max_tilt: float = 0.0):
    """(canvas, face, true square (x, y, side), tilt) for FER Training faces pasted at random sizes and places;
    with ``max_tilt`` the canvas is then turned about the face's centre by up to that many degrees either way."""
    rng = np.random.default_rng(seed)
    pool = backgrounds()
    for path in fer_paths("train", per_class, seed):
        face = np.asarray(Image.open(path).convert("L"))
        canvas = pool[rng.integers(len(pool))].resize(CANVAS, Image.Resampling.BILINEAR)
        side = int(rng.integers(90, 240))
        x, y = int(rng.integers(0, CANVAS[0] - side)), int(rng.integers(0, CANVAS[1] - side))
        canvas.paste(Image.fromarray(face).resize((side, side), Image.Resampling.BICUBIC).convert("RGB"), (x, y))
        tilt = float(rng.uniform(-max_tilt, max_tilt))
        if tilt:
            canvas = canvas.rotate(tilt, resample=Image.Resampling.BILINEAR, center=(x + side / 2, y + side / 2))
        yield canvas, face, (x, y, side), tilt


def matching(found: list[Found], square) -> Found | None:
    x, y, side = square
    inside = [f for f in found
              if x <= (f.box[0] + f.box[2]) / 2 <= x + side and y <= (f.box[1] + f.box[3]) / 2 <= y + side]
    return max(inside, key=lambda f: f.score, default=None)


def frame_terms(found: Found, square) -> tuple[float, float, float]:
    """(side, below-eyes offset, sideways offset) of the true square, in eye distances along the face's axes."""
    left, right = found.eyes
    d = float(np.hypot(*(right - left)))
    angle = math.atan2(*(right - left)[::-1])
    along, down = np.array([math.cos(angle), math.sin(angle)]), np.array([-math.sin(angle), math.cos(angle)])
    x, y, side = square
    offset = np.array([x + side / 2, y + side / 2]) - (left + right) / 2
    return side / d, float(offset @ down) / d, float(offset @ along) / d


def square_iou(a, b) -> float:
    """IoU of two axis-aligned squares given as (centre x, centre y, side)."""
    w = max(0.0, min(a[0] + a[2] / 2, b[0] + b[2] / 2) - max(a[0] - a[2] / 2, b[0] - b[2] / 2))
    h = max(0.0, min(a[1] + a[2] / 2, b[1] + b[2] / 2) - max(a[1] - a[2] / 2, b[1] - b[2] / 2))
    return w * h / (a[2] ** 2 + b[2] ** 2 - w * h)


def eye_geometry(found: Found):
    left, right = found.eyes
    angle = math.atan2(*(right - left)[::-1])
    return (left + right) / 2, float(np.hypot(*(right - left))), angle


def box_terms(found: Found, square) -> tuple[float, float]:
    """(side, below-centre offset) of the true square, in units of the detector box's larger side."""
    x1, y1, x2, y2 = found.box
    unit = max(x2 - x1, y2 - y1)
    x, y, side = square
    return side / unit, (y + side / 2 - (y1 + y2) / 2) / unit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=40)
    args = parser.parse_args()

    upright = list(pasted_faces(args.per_class))
    tilted = list(pasted_faces(args.per_class // 2, seed=1, max_tilt=30))
    finders = {"blazeface": BlazeFaceFinder()}
    try:
        finders["mtcnn"] = MtcnnFinder(min_face_size=20)
    except ImportError:
        print("mtcnn not installed: its rows are skipped")
    rows = []
    for name, finder in finders.items():
        def detected(samples, finder=finder):
            hits = [(c, f, sq, t, matching(finder.find(c), sq)) for c, f, sq, t in samples]
            return [h for h in hits if h[4] is not None]

        hits, tilted_hits = detected(upright), detected(tilted)
        fit, held_out = hits[: len(hits) // 2], hits[len(hits) // 2:]
        terms = np.array([frame_terms(found, square) for *_, square, _, found in fit])
        frame = FaceFrame(side=round(float(np.median(terms[:, 0])), 2),
                          below_eyes=round(float(np.median(terms[:, 1])), 2))
        by_box = np.median([box_terms(found, square) for *_, square, _, found in fit], axis=0)
        # FER's own faces lean a little: below this |eye angle| a face is left as FER would have it.
        own_tilt = float(np.percentile([abs(eye_geometry(found)[2]) for *_, found in fit], 90))
        print(f"{name}: detected {len(hits)}/{len(upright)} upright and {len(tilted_hits)}/{len(tilted)} tilted "
              f"pasted faces; fitted on {len(fit)}: side {frame.side} eye distances (IQR "
              f"{np.subtract(*np.percentile(terms[:, 0], [75, 25])):.2f}), centre {frame.below_eyes} below the eyes "
              f"(sideways {np.median(terms[:, 2]):+.3f}); by the box: side {by_box[0]:.2f}, centre {by_box[1]:+.3f}; "
              f"FER's own eye tilt p90 {math.degrees(own_tilt):.1f} deg")

        def framing(how: str, found: Found, frame=frame, by_box=by_box, own_tilt=own_tilt):
            mid, distance, angle = eye_geometry(found)
            x1, y1, x2, y2 = found.box
            unit = max(x2 - x1, y2 - y1)
            if how == "old":
                return ((x1 + x2) / 2, (y1 + y2) / 2), unit * (1 + OLD_MARGIN), angle
            if how == "box":
                down = np.array([-math.sin(angle), math.cos(angle)])
                centre = np.array([(x1 + x2) / 2, (y1 + y2) / 2]) + down * by_box[1] * unit
                return tuple(centre), by_box[0] * unit, angle
            centre, side, angle = fer_frame(found.eyes, frame)
            if how == "upright":
                angle = 0.0
            elif how == "deadzone":
                angle -= float(np.clip(angle, -own_tilt, own_tilt))
            return centre, side, angle

        for label, how in (("old: box centre, side x1.15, eyes levelled", "old"),
                           ("fitted to the box, eyes levelled", "box"),
                           ("fitted to the eyes, eyes levelled", "eyes"),
                           ("fitted to the eyes, tilt beyond FER's own", "deadzone"),
                           ("fitted to the eyes, never rotated", "upright")):
            ious, correlations, tilted_correlations = [], [], []
            for canvas, face, square, _, found in held_out:
                centre, side, angle = framing(how, found)
                x, y, s = square
                ious.append(square_iou((*centre, side), (x + s / 2, y + s / 2, s)))
                crop = aligned_crop(canvas, centre, side, angle, 48).astype(float)
                correlations.append(np.corrcoef(crop.ravel(), face.astype(float).ravel())[0, 1])
            for canvas, face, _, _, found in tilted_hits:
                crop = aligned_crop(canvas, *framing(how, found), 48).astype(float)
                tilted_correlations.append(np.corrcoef(crop.ravel(), face.astype(float).ravel())[0, 1])
            rows.append((name, label, len(held_out), np.mean(ious), np.median(ious), np.mean(correlations),
                         len(tilted_hits), np.mean(tilted_correlations)))

    print(f"\n{'detector':<10} {'framing':<44} {'upright':>7} {'IoU mean':>8} {'IoU p50':>7} {'corr':>6} "
          f"{'tilted':>6} {'corr':>6}")
    print("-" * 104)
    for name, label, n, mean_iou, median_iou, corr, n_tilted, tilted_corr in rows:
        print(f"{name:<10} {label:<44} {n:>7} {mean_iou:>8.3f} {median_iou:>7.3f} {corr:>6.3f} {n_tilted:>6} "
              f"{tilted_corr:>6.3f}")


if __name__ == "__main__":
    main()
