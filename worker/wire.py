"""What travels between the front end and a worker: photo bytes in (msgpack binary, no base64), and back a
small dict of plain numbers. A refused photo is an answer, not a failure: it comes back as the name of its
ImageRejected kind so the front end raises the same typed error a local analysis would."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from moodtunes.core import errors
from moodtunes.core.emotion import EmotionPrediction
from moodtunes.core.pipeline import FaceResult


@dataclass(frozen=True)
class PhotoAnalysis:
    """Faces with their emotions (largest first) and the emotion model's version that read them."""

    faces: tuple[FaceResult, ...]
    model_version: str
    analyze_ms: float = 0.0  # the worker's own time on the photo: the rest of a round trip is transport


def analysis_to_wire(faces: tuple[FaceResult, ...], model_version: str, analyze_ms: float = 0.0) -> dict[str, Any]:
    return {"model_version": model_version, "analyze_ms": round(float(analyze_ms), 3),
            "faces": [[*map(int, f.box), *map(float, f.prediction.probabilities)] for f in faces]}


def rejection_to_wire(error: errors.ImageRejected) -> dict[str, Any]:
    return {"rejected": type(error).__name__, "detail": str(error)}


def analysis_from_wire(payload: dict[str, Any]) -> PhotoAnalysis:
    """The worker's answer; raises the ImageRejected kind it named for a refused photo."""
    if "rejected" in payload:
        kind = getattr(errors, str(payload["rejected"]), errors.ImageRejected)
        if not (isinstance(kind, type) and issubclass(kind, errors.ImageRejected)):
            kind = errors.ImageRejected
        raise kind(str(payload.get("detail", "")))
    faces = tuple(FaceResult(tuple(row[:4]), EmotionPrediction(tuple(row[4:]))) for row in payload["faces"])
    return PhotoAnalysis(faces, str(payload["model_version"]), float(payload.get("analyze_ms", 0.0)))
