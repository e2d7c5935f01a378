"""Labelled evaluation folders: ``DIR/<emotion>/<image>``, both Kaggle spellings, other classes skipped."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from moodtunes.core.emotions import EMOTIONS, canonical_emotion

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".heic", ".heif", ".avif"}


def labelled_images(folder: Path) -> list[tuple[Path, int]]:
    """(path, label index) for every image under a recognised emotion folder, in a stable order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder")
    items: list[tuple[Path, int]] = []
    for class_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        emotion = canonical_emotion(class_dir.name)
        if emotion is None:
            continue
        label = EMOTIONS.index(emotion)
        items += [(p, label) for p in sorted(class_dir.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    return items


def read_faces(paths: list[Path], size: int) -> np.ndarray:
    """(n, size, size) uint8 greyscale faces from already-cropped face images (as `moodtunes evaluate` reads them)."""
    from PIL import Image

    faces = np.empty((len(paths), size, size), dtype=np.uint8)
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as img:
                faces[i] = np.asarray(img.convert("L").resize((size, size), Image.Resampling.BILINEAR))
        except (OSError, ValueError) as exc:  # PIL's UnidentifiedImageError is an OSError
            raise ValueError(f"{path}: not a readable image ({exc})") from exc
    return faces
