"""Real photos for face-detector measurements: scikit-image's astronaut and its variants, FER2013 faces pasted
into bigger canvases (with the pasted square known exactly), and scikit-image's face-free images.

Everything is built in memory from scikit-image's bundled images and ../shared/data; nothing is written to disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from moodtunes.core.emotions import EMOTIONS
from moodtunes.core.settings import PROJECT_ROOT

FER_ROOT = PROJECT_ROOT.parent / "shared" / "data" / "fer2013"

# The astronaut's face in scikit-image's 512 x 512 photo (x1, y1, x2, y2), measured once by eye and by both
# detectors; a detection counts as this face when its centre lies inside the box.
ASTRONAUT_FACE = (170, 60, 290, 190)

# Face-free scikit-image photos (the cameraman and the astronaut hold faces; lfw_subset is all faces).
FACE_FREE = ("coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "retina", "coins", "clock",
             "checkerboard", "cell", "page", "text", "horse", "moon", "brick", "grass", "gravel", "colorwheel",
             "logo", "shepp_logan_phantom", "stereo_motorcycle")


@dataclass(frozen=True)
class Photo:
    """A test photo and its faces' true boxes (x1, y1, x2, y2) in its own pixels."""

    name: str
    image: Image.Image
    faces: tuple[tuple[float, float, float, float], ...]


def as_rgb(array) -> Image.Image:
    array = np.asarray(array).astype(float) if np.asarray(array).dtype != np.uint8 else np.asarray(array)
    if array.dtype != np.uint8:  # boolean masks and float phantoms: stretch to 0..255
        array = (255 * (array - array.min()) / max(1e-9, array.max() - array.min())).astype(np.uint8)
    return Image.fromarray(array).convert("RGB")


def astronaut() -> Image.Image:
    from skimage import data

    return as_rgb(data.astronaut())


def face_free_photos() -> list[Photo]:
    from skimage import data

    photos = []
    for name in FACE_FREE:
        array = getattr(data, name)()
        if isinstance(array, tuple):  # stereo pairs: the left view
            array = array[0]
        photos.append(Photo(name, as_rgb(array), ()))
    return photos


def _rotated_box(box, angle_degrees: float, size: tuple[int, int]) -> tuple[float, ...]:
    """The box around ``box`` after PIL's ``rotate(angle)`` about the image centre (same canvas size)."""
    cx, cy = size[0] / 2, size[1] / 2
    theta = np.radians(angle_degrees)
    corners = np.array([[box[0], box[1]], [box[2], box[1]], [box[0], box[3]], [box[2], box[3]]], float) - (cx, cy)
    # PIL rotates counter-clockwise on screen (y down): x' = x cos + y sin, y' = -x sin + y cos.
    rotated = corners @ np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]) + (cx, cy)
    return (*rotated.min(0), *rotated.max(0))


def _scaled(box, factor: float, offset=(0.0, 0.0)) -> tuple[float, ...]:
    return tuple(v * factor + offset[i % 2] for i, v in enumerate(box))


def astronaut_recall_set() -> list[Photo]:
    """The astronaut as sent (512 px and 1280 px), rotated by +/-30 degrees, darkened, shrunk until the face is
    40 px wide, and four copies of different sizes in one canvas."""
    base = astronaut()
    face = ASTRONAUT_FACE
    photos = [Photo("astronaut 512 px", base, (face,)),
              Photo("astronaut 1280 px", base.resize((1280, 1280), Image.Resampling.LANCZOS), (_scaled(face, 2.5),))]
    for angle in (30, -30):
        photos.append(Photo(f"rotated {angle:+d} deg", base.rotate(angle, resample=Image.Resampling.BILINEAR),
                            (_rotated_box(face, angle, base.size),)))
    for factor in (0.35, 0.2):
        photos.append(Photo(f"darkened x{factor}", ImageEnhance.Brightness(base).enhance(factor), (face,)))
    shrink = 40 / (face[2] - face[0])
    side = round(512 * shrink)
    small = base.resize((side, side), Image.Resampling.LANCZOS)
    photos.append(Photo("face 40 px (170 px photo)", small, (_scaled(face, shrink),)))
    framed = Image.new("RGB", (640, 480), (90, 110, 130))
    framed.paste(small, (300, 200))
    photos.append(Photo("face 40 px in 640x480", framed, (_scaled(face, shrink, (300, 200)),)))
    canvas = Image.new("RGB", (1280, 720), (200, 200, 200))
    boxes = []
    for x, y, s in ((0, 100, 512), (540, 60, 360), (920, 200, 260), (600, 460, 200)):
        canvas.paste(base.resize((s, s), Image.Resampling.LANCZOS), (x, y))
        boxes.append(_scaled(face, s / 512, (x, y)))
    photos.append(Photo("4 astronauts in 1280x720", canvas, tuple(boxes)))
    return photos


def fer_paths(split: str = "train", per_class: int = 50, seed: int = 0) -> list[Path]:
    """``per_class`` random FER2013 files of each emotion (seeded)."""
    rng = np.random.default_rng(seed)
    paths = []
    for emotion in EMOTIONS:
        files = sorted((FER_ROOT / split / emotion).iterdir())
        paths += [files[i] for i in rng.choice(len(files), size=min(per_class, len(files)), replace=False)]
    return paths


def backgrounds() -> list[Image.Image]:
    return [p.image for p in face_free_photos() if p.image.width >= 400]


def fer_canvas(faces: list[np.ndarray], rng: np.random.Generator, size: tuple[int, int] = (1280, 960),
               face_side: tuple[int, int] = (120, 260)) -> Photo:
    """FER faces (48 x 48 grey) upscaled to random sides and pasted without overlap into a face-free photo
    stretched to ``size``; the true boxes are the pasted squares."""
    pool = backgrounds()
    canvas = pool[rng.integers(len(pool))].resize(size, Image.Resampling.BILINEAR)
    placed: list[tuple[float, float, float, float]] = []
    for face in faces:
        for _ in range(200):
            side = int(rng.integers(*face_side))
            x, y = int(rng.integers(0, size[0] - side)), int(rng.integers(0, size[1] - side))
            box = (x, y, x + side, y + side)
            if all(box[2] <= b[0] or b[2] <= box[0] or box[3] <= b[1] or b[3] <= box[1] for b in placed):
                canvas.paste(Image.fromarray(face).resize((side, side), Image.Resampling.BICUBIC).convert("RGB"),
                             (x, y))
                placed.append(box)
                break
    return Photo(f"{len(placed)} FER faces", canvas, tuple(placed))


def matches(found_boxes, true_boxes) -> tuple[int, int]:
    """(true faces found, detections that are no true face): a detection finds a face when its centre lies
    inside the true box; each true face is found at most once."""
    hit, extra = set(), 0
    for x, y, w, h in found_boxes:
        cx, cy = x + w / 2, y + h / 2
        inside = [i for i, b in enumerate(true_boxes) if b[0] <= cx <= b[2] and b[1] <= cy <= b[3] and i not in hit]
        if inside:
            hit.add(inside[0])
        else:
            extra += 1
    return len(hit), extra


def write_evaluation_canvases(out: Path, split: str, per_class: int, seed: int = 0) -> int:
    """FER faces of ``split`` pasted one per photo (640x480, face 150-300 px: a selfie's framing) into face-free
    photos, as ``out/<emotion>/<name>.jpg`` for ``moodtunes evaluate --detect``. Returns how many were written.
    The output is derived from FER2013 row by row: keep it outside the repository."""
    rng = np.random.default_rng(seed)
    written = 0
    for path in fer_paths(split, per_class, seed):
        face = np.asarray(Image.open(path).convert("L"))
        photo = fer_canvas([face], rng, size=(640, 480), face_side=(150, 300))
        folder = out / path.parent.name
        folder.mkdir(parents=True, exist_ok=True)
        photo.image.save(folder / f"{path.stem}.jpg", quality=92)
        written += 1
    return written


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Write FER faces pasted into photos for `evaluate --detect`.")
    parser.add_argument("out", type=Path, help="output folder (outside the repository)")
    parser.add_argument("--split", default="val")
    parser.add_argument("--per-class", type=int, default=100)
    args = parser.parse_args()
    print(f"{write_evaluation_canvases(args.out, args.split, args.per_class)} photos written to {args.out}")
