"""Group mood: one emotion vector for a photo's faces, their probability vectors averaged by face area."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from moodtunes.core.emotions import EMOTIONS

# Faces under this fraction of the largest face's area are passers-by in the background, not the group.
BYSTANDER_AREA = 0.1


@dataclass(frozen=True)
class GroupEmotion:
    """The faces' combined probabilities (EMOTIONS order), how many faces went in, and each one's top emotion."""

    probabilities: tuple[float, ...]
    faces_used: int
    face_emotions: tuple[str, ...]

    @property
    def emotion(self) -> str:
        return EMOTIONS[int(np.argmax(self.probabilities))]

    def as_dict(self) -> dict[str, float]:
        return {name: round(float(p), 6) for name, p in zip(EMOTIONS, self.probabilities, strict=True)}

    @property
    def summary(self) -> str:
        """'all happy', 'mostly happy' or 'mixed, leaning happy'."""
        agreeing = self.face_emotions.count(self.emotion)
        if agreeing == len(self.face_emotions):
            return f"all {self.emotion}" if self.faces_used > 1 else self.emotion
        if agreeing * 2 > len(self.face_emotions):
            return f"mostly {self.emotion}"
        return f"mixed, leaning {self.emotion}"


def group_emotion(areas: Sequence[float], probabilities: Sequence[Sequence[float]]) -> GroupEmotion:
    """Area-weighted mean of the faces' probability vectors, bystanders left out (larger faces are the people
    the photo is of, and their emotions are read from more pixels)."""
    areas = np.asarray(areas, dtype=float)
    vectors = np.asarray(probabilities, dtype=float).reshape(len(areas), len(EMOTIONS))
    if not len(areas):
        raise ValueError("a group needs at least one face")
    used = areas >= BYSTANDER_AREA * areas.max()
    weights = areas[used] / areas[used].sum()
    combined = weights @ vectors[used]
    top = tuple(EMOTIONS[int(i)] for i in vectors[used].argmax(axis=1))
    return GroupEmotion(tuple(float(p) for p in combined), int(used.sum()), top)
