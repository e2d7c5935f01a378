"""The seven FER2013 emotions, in the class order every model here uses."""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")

# Kaggle ships FER folders in two spellings; both map to ours.
_SPELLINGS = {name: name for name in EMOTIONS} | {
    "disgusted": "disgust",
    "fearful": "fear",
    "surprised": "surprise",
}


def canonical_emotion(name: str) -> str | None:
    """Return our spelling of an emotion folder name, or None for any other class."""
    return _SPELLINGS.get(name.strip().lower())
