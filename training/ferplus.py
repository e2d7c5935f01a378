"""FER+ crowd votes (10 annotators per face, Microsoft FERPlus) as soft targets aligned with FER2013 faces.

``ferplus_votes.csv`` sits in the FER2013 data folder; its ``path`` column is relative to that folder
(``train/angry/Training_10118481.jpg``). Votes for contempt, unknown and not-a-face have no class here and are
dropped; a face with no usable votes (or no row) gets no soft target.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from moodtunes.core.emotions import EMOTIONS

VOTES_FILE = "ferplus_votes.csv"
# FER+ column -> our class name.
FERPLUS_TO_EMOTION = {"anger": "angry", "disgust": "disgust", "fear": "fear", "happiness": "happy",
                      "neutral": "neutral", "sadness": "sad", "surprise": "surprise"}


def read_votes(votes_csv: Path) -> dict[str, np.ndarray]:
    """path -> (7,) vote counts in EMOTIONS order."""
    votes: dict[str, np.ndarray] = {}
    with open(votes_csv, newline="") as handle:
        for row_number, row in enumerate(csv.DictReader(handle), start=2):
            try:
                counts = np.zeros(len(EMOTIONS), dtype=np.float32)
                for column, emotion in FERPLUS_TO_EMOTION.items():
                    counts[EMOTIONS.index(emotion)] = float(row[column])
            except (KeyError, ValueError) as exc:
                raise ValueError(f"{votes_csv}: row {row_number}: {exc}") from exc
            votes[row["path"]] = counts
    return votes


def soft_targets(paths, votes: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(n, 7) vote distributions and an (n,) mask of faces that have one."""
    targets = np.zeros((len(paths), len(EMOTIONS)), dtype=np.float32)
    has_votes = np.zeros(len(paths), dtype=bool)
    for i, path in enumerate(paths):
        counts = votes.get(str(path))
        if counts is not None and counts.sum() > 0:
            targets[i] = counts / counts.sum()
            has_votes[i] = True
    return targets, has_votes


def mixed_targets(labels: np.ndarray, paths, data_dir: Path, weight: float) -> tuple[np.ndarray, int]:
    """(1 - weight) * one-hot(original label) + weight * FER+ distribution, where the face has FER+ votes.

    With weight < 0.5 the original label keeps the largest share, so the target's argmax never changes.
    Returns the targets and how many faces had votes.
    """
    one_hot = np.eye(len(EMOTIONS), dtype=np.float32)[labels]
    votes_csv = Path(data_dir) / VOTES_FILE
    if weight <= 0 or paths is None or not votes_csv.is_file():
        return one_hot, 0
    soft, has_votes = soft_targets(paths, read_votes(votes_csv))
    mixed = np.where(has_votes[:, None], (1 - weight) * one_hot + weight * soft, one_hot)
    return mixed.astype(np.float32), int(has_votes.sum())


def majority_labels(paths, data_dir: Path) -> np.ndarray:
    """FER+ majority class per face (-1 where there are no usable votes), for reporting accuracy against FER+."""
    votes_csv = Path(data_dir) / VOTES_FILE
    if paths is None or not votes_csv.is_file():
        return np.full(len(paths or ()), -1)
    return majority_from_votes(paths, read_votes(votes_csv))


def majority_for_files(paths, votes_file: Path) -> np.ndarray:
    """FER+ majority class per image file (-1 where it has no usable votes or lies outside the votes file's folder,
    which its paths are relative to)."""
    root = Path(votes_file).resolve().parent
    keys = [Path(path).resolve().relative_to(root).as_posix() if Path(path).resolve().is_relative_to(root) else None
            for path in paths]
    return majority_from_votes(keys, read_votes(votes_file))


def majority_accuracy(predicted: np.ndarray, majority: np.ndarray) -> tuple[float, int]:
    """(accuracy of ``predicted`` against the FER+ majority, number of faces with votes); a face without votes
    (majority -1) is left out, a prediction of -1 (no face found) counts as a miss. (0.0, 0) where none has votes."""
    voted = np.asarray(majority) >= 0
    if not voted.any():
        return 0.0, 0
    return float((np.asarray(predicted)[voted] == np.asarray(majority)[voted]).mean()), int(voted.sum())


def majority_from_votes(paths, votes: dict[str, np.ndarray]) -> np.ndarray:
    """FER+ majority class per face of ``paths`` (keys of ``votes``), -1 where there are no usable votes."""
    soft, has_votes = soft_targets(paths, votes)
    return np.where(has_votes, soft.argmax(axis=1), -1)
