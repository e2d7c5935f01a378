"""Emotion probabilities -> a music mood and a valence/energy target, per strategy, from an editable TOML table."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from moodtunes.core.emotions import EMOTIONS
from moodtunes.core.errors import MoodTunesError

MOODS: tuple[str, ...] = ("Happy", "Sad", "Energetic", "Calm")


class Strategy(StrEnum):
    """How the music relates to the feeling: the one place the strategy names are defined."""

    MATCH = "match"  # music that fits the feeling
    UPLIFT = "uplift"  # music that lifts it


STRATEGIES: tuple[str, ...] = tuple(Strategy)


@dataclass(frozen=True)
class MoodTarget:
    """Where to look in the catalog: which mood, and the valence/energy (0..1) the music should have."""

    mood: str
    valence: float
    energy: float
    strategy: str


@dataclass(frozen=True)
class _Entry:
    mood: str
    valence: float
    energy: float


class MoodMapError(MoodTunesError):
    """The mood table is missing or malformed; the message names the file and the entry."""


def canonical_mood(name: str) -> str | None:
    """'happy', 'HAPPY ' -> 'Happy'; anything else -> None."""
    lookup = {m.lower(): m for m in MOODS}
    return lookup.get(name.strip().lower())


class MoodMap:
    def __init__(self, table: dict[str, dict[str, _Entry]]) -> None:
        self._table = table

    @classmethod
    def load(cls, path: Path) -> MoodMap:
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text())
        except FileNotFoundError as exc:
            raise MoodMapError(f"{path}: file not found") from exc
        except tomllib.TOMLDecodeError as exc:
            raise MoodMapError(f"{path}: not valid TOML ({exc})") from exc
        table: dict[str, dict[str, _Entry]] = {}
        for emotion in EMOTIONS:
            if emotion not in raw:
                raise MoodMapError(f"{path}: missing table [{emotion}]")
            table[emotion] = {}
            for strategy in STRATEGIES:
                where = f"{path}: [{emotion}].{strategy}"
                entry = raw[emotion].get(strategy)
                if not isinstance(entry, dict):
                    raise MoodMapError(f"{where}: missing (expected {{ mood = ..., valence = ..., energy = ... }})")
                mood = canonical_mood(str(entry.get("mood", "")))
                if mood is None:
                    raise MoodMapError(f"{where}: mood {entry.get('mood')!r} is not one of {', '.join(MOODS)}")
                try:
                    valence, energy = float(entry["valence"]), float(entry["energy"])
                except (KeyError, TypeError, ValueError) as exc:
                    raise MoodMapError(f"{where}: valence and energy must be numbers in 0..1") from exc
                if not (0 <= valence <= 1 and 0 <= energy <= 1):
                    raise MoodMapError(f"{where}: valence and energy must be numbers in 0..1")
                table[emotion][strategy] = _Entry(mood, valence, energy)
        return cls(table)

    def target(self, probabilities: dict[str, float] | tuple[float, ...], strategy: str) -> MoodTarget:
        """Mood with the largest summed probability; valence/energy averaged over all emotions."""
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
        if isinstance(probabilities, dict):
            probs = [float(probabilities.get(e, 0.0)) for e in EMOTIONS]
        else:
            probs = [float(p) for p in probabilities]
        total = sum(probs) or 1.0
        probs = [p / total for p in probs]
        scores = dict.fromkeys(MOODS, 0.0)
        valence = energy = 0.0
        for emotion, p in zip(EMOTIONS, probs, strict=True):
            entry = self._table[emotion][strategy]
            scores[entry.mood] += p
            valence += p * entry.valence
            energy += p * entry.energy
        mood = max(MOODS, key=lambda m: scores[m])
        return MoodTarget(mood, valence, energy, strategy)
