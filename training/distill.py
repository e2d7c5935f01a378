"""Knowledge distillation: a served model (often an ensemble) gives soft targets for a new run's training faces.

    moodtunes train ensemble --member models/candidates/run4 --member models/candidates/wide-v1 --out runs/teacher
    moodtunes train emotion --arch wide --teacher runs/teacher/model --teacher-weight 0.5 --out runs/student

The teacher classifies every (unaugmented) training face once, as it is served (flip included), and each target
becomes ``(1 - weight) * label target + weight * teacher probabilities``. The student then learns the ensemble's
view of each face at one member's cost per face. The teacher's outputs are cached in the run's face cache, keyed
by the teacher file's sha256, so a resumed run on the same machine reuses them instead of classifying again.
Val faces are never passed to the teacher: val only selects epochs and candidates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from moodtunes.core.emotion import MODEL_FILE, EmotionModel, file_sha256
from moodtunes.core.emotions import EMOTIONS


def teacher_probabilities(teacher_dir: Path, images: np.ndarray, cache_dir: Path | None = None) -> np.ndarray:
    """(n, 7) probabilities of the served model in ``teacher_dir`` for (n, size, size) uint8 faces."""
    teacher = EmotionModel(Path(teacher_dir), threads=2)  # a ModelError names the file that is wrong
    if images.shape[1:] != (teacher.input_size, teacher.input_size):
        raise ValueError(f"{teacher_dir}: the teacher takes {teacher.input_size}-px faces, "
                         f"the run trains on {images.shape[1]}-px faces")
    cache = None
    if cache_dir is not None:
        digest = file_sha256(Path(teacher_dir) / MODEL_FILE)[:16]
        cache = Path(cache_dir) / f"teacher-{digest}-{len(images)}.npy"
        if cache.is_file():
            probs = np.load(cache)
            if probs.shape == (len(images), len(EMOTIONS)):
                return probs
    probs = teacher.predict_many(images).astype(np.float32)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, probs)
    return probs


def distilled_targets(targets: np.ndarray, teacher_probs: np.ndarray, weight: float) -> np.ndarray:
    """``(1 - weight) * targets + weight * teacher_probs``, renormalised (the teacher's float rounding)."""
    if not 0 < weight <= 1:
        raise ValueError(f"teacher weight must be above 0 and at most 1, got {weight}")
    teacher = teacher_probs / teacher_probs.sum(axis=1, keepdims=True)
    return ((1 - weight) * targets + weight * teacher).astype(np.float32)
