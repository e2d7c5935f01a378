"""The frozen dataclasses the store returns (callers never see ORM objects)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One answer the bot gave: what it saw, what it chose and which tracks it showed."""

    id: int
    user_id: int
    created_at: datetime  # timezone-aware UTC
    source: str  # "photo" | "mood"
    emotion: str | None
    probabilities: dict[str, float] | None
    mood: str
    strategy: str  # "match" | "uplift"
    model_version: str | None
    faces: int
    track_ids: tuple[str, ...]  # every track shown for this answer, in order ("More" appends)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (timestamps as ISO 8601 strings)."""
        return {
            "id": self.id,
            "user_id": self.user_id,
            "created_at": self.created_at.isoformat(),
            "source": self.source,
            "emotion": self.emotion,
            "probabilities": dict(self.probabilities) if self.probabilities is not None else None,
            "mood": self.mood,
            "strategy": self.strategy,
            "model_version": self.model_version,
            "faces": self.faces,
            "track_ids": list(self.track_ids),
        }


@dataclass(frozen=True, slots=True)
class FeedbackCount:
    """Votes for one value of a grouping column (e.g. emotion == "happy"); ``key`` is None for NULL."""

    key: str | None
    likes: int
    dislikes: int
