"""Load FER-style face folders (or the original fer2013.csv) into in-memory arrays.

Both Kaggle spellings of the class folders are accepted; folders of other classes are skipped.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from moodtunes.core.emotions import EMOTIONS, canonical_emotion

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif"}
# fer2013.csv "Usage" column -> our split names.
CSV_USAGE_TO_SPLIT = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
SPLIT_ALIASES = {
    "train": ("train", "training", "Training"),
    "val": ("val", "valid", "validation", "PublicTest", "publictest"),
    "test": ("test", "PrivateTest", "privatetest"),
}


@dataclass(frozen=True)
class FaceArrays:
    """Faces as uint8 (n, size, size) greyscale, int labels in EMOTIONS order and, for face folders, each
    face's path relative to the data folder (``train/angry/Training_1.jpg``, the key of the FER+ votes)."""

    images: np.ndarray
    labels: np.ndarray
    paths: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return len(self.labels)


def load_face_folder(folder: Path, size: int = 48) -> FaceArrays:
    """Read ``folder/<emotion>/<image>`` into arrays, resizing to ``size`` if needed."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"face folder not found: {folder}")
    images: list[np.ndarray] = []
    labels: list[int] = []
    paths: list[str] = []
    for class_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        emotion = canonical_emotion(class_dir.name)
        if emotion is None:
            continue
        label = EMOTIONS.index(emotion)
        for path in sorted(class_dir.iterdir()):
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            with Image.open(path) as img:
                grey = img.convert("L")
                if grey.size != (size, size):
                    grey = grey.resize((size, size), Image.Resampling.BILINEAR)
                images.append(np.asarray(grey, dtype=np.uint8))
            labels.append(label)
            paths.append(f"{folder.name}/{class_dir.name}/{path.name}")
    if not images:
        raise ValueError(f"no images of the seven emotions found under {folder}")
    return FaceArrays(np.stack(images), np.asarray(labels, dtype=np.int64), tuple(paths))


def load_fer_csv(csv_path: Path, size: int = 48) -> dict[str, FaceArrays]:
    """Read the original ``fer2013.csv`` (emotion,pixels,Usage) into splits."""
    buckets: dict[str, tuple[list[np.ndarray], list[int]]] = {}
    with open(csv_path, newline="") as handle:
        for row_number, row in enumerate(csv.DictReader(handle), start=2):
            try:
                label = int(row["emotion"])
                pixels = np.array(row["pixels"].split(), dtype=np.uint8).reshape(48, 48)
                split = CSV_USAGE_TO_SPLIT[row["Usage"]]
            except (KeyError, ValueError) as exc:
                raise ValueError(f"{csv_path}: row {row_number}: {exc}") from exc
            # fer2013.csv orders classes angry, disgust, fear, happy, sad, surprise, neutral.
            emotion = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")[label]
            if size != 48:
                pixels = np.asarray(Image.fromarray(pixels).resize((size, size), Image.Resampling.BILINEAR))
            imgs, labs = buckets.setdefault(split, ([], []))
            imgs.append(pixels)
            labs.append(EMOTIONS.index(emotion))
    return {split: FaceArrays(np.stack(faces), np.asarray(labels, dtype=np.int64))
            for split, (faces, labels) in buckets.items()}


def load_splits(data: Path, size: int = 48) -> dict[str, FaceArrays]:
    """Load ``data/<split>/<emotion>/*`` or a ``fer2013.csv`` into a dict of splits (train, val, test)."""
    data = Path(data)
    if data.is_file() and data.suffix.lower() == ".csv":
        return load_fer_csv(data, size)
    if (data / "fer2013.csv").is_file():
        return load_fer_csv(data / "fer2013.csv", size)
    splits: dict[str, FaceArrays] = {}
    for split, aliases in SPLIT_ALIASES.items():
        for alias in aliases:
            if (data / alias).is_dir():
                splits[split] = load_face_folder(data / alias, size)
                break
    if "train" not in splits:
        raise FileNotFoundError(f"{data}: expected a train/ folder (or fer2013.csv) with emotion subfolders")
    return splits


def cached_splits(data: Path, size: int, cache_dir: Path | None) -> dict[str, FaceArrays]:
    """Like :func:`load_splits` but keeps a local ``.npz`` so a resumed run starts in seconds.

    The cache is a private working file under the run's folder, never committed.
    """
    if cache_dir is None:
        return load_splits(data, size)
    cache = Path(cache_dir) / f"faces_{size}_v2.npz"
    if cache.is_file():
        stored = np.load(cache)
        return {
            s: FaceArrays(stored[f"{s}_x"], stored[f"{s}_y"],
                          tuple(stored[f"{s}_paths"].tolist()) if f"{s}_paths" in stored else None)
            for s in ("train", "val", "test")
            if f"{s}_x" in stored
        }
    splits = load_splits(data, size)
    cache.parent.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for s, faces in splits.items():
        arrays |= {f"{s}_x": faces.images, f"{s}_y": faces.labels}
        if faces.paths is not None:
            arrays[f"{s}_paths"] = np.asarray(faces.paths)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    cache.write_bytes(buffer.getvalue())
    return splits
