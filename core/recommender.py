"""Recommendations: nearest neighbours over standardised audio features, with novelty and controlled variety.

An answer for a mood is drawn in three steps:
1. an *anchor*: the track nearest the target's valence/energy among a few drawn at random from the mood (a
   tournament: cheap at any catalog size; with 4 drawn it lands on average among the closest fifth) — the emotion fixes
   valence and energy only, so the other seven features are taken from a real track rather than from the mood's
   average (the average picks the same "average" songs for everyone);
   once the user liked tracks of the mood, most answers anchor on one of them instead ("more like that one");
2. the query point: the anchor with the target's valence/energy, pulled toward the user's liked tracks of that mood;
3. ``k`` tracks drawn without replacement among the ``pool`` nearest the query point: closer, more confidently
   labelled, more like a liked track, and less often shown to anyone since start — more likely. The last spreads
   exposure: equally fitting tracks take turns instead of everyone getting the same few.
Tracks the user disliked never come; tracks shown recently come only when nothing fresh is left (liked ones, rarely).
``Variety.off()`` turns steps 1 and 3 into the plain centroid query and top-``k``: deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from moodtunes.core.catalog import CATALOG_COLUMNS, FEATURES, MOOD_PROBABILITY, load_catalog
from moodtunes.core.errors import UnknownMood
from moodtunes.core.mood import MOODS, MoodTarget

__all__ = ["CATALOG_COLUMNS", "FEATURES", "Recommendation", "Recommender", "Track", "Variety", "load_catalog"]

# How much likelier a candidate is per standardised unit closer to its nearest liked track (free features).
LIKED_AFFINITY = 3.0
# Share of answers that still explore (a random anchor) once the user has liked tracks of the mood.
EXPLORE = 0.1
# Chance that a liked track shown recently is allowed back into a new answer.
LIKED_COMEBACK = 0.1


@dataclass(frozen=True)
class Variety:
    """How much chance goes into an answer. ``tournament`` 0 and ``pool`` 0: the plain, deterministic top-k."""

    tournament: int = 4  # anchor candidates drawn per answer; more: anchors closer to the target, less variety
    pool: int = 60  # the answer is drawn among this many tracks nearest the query point
    temperature: float = 1.0  # distance (standardised units) over which a candidate's weight falls by e
    confidence_power: float = 1.0  # weight * mood_probability ** power: prefer confidently labelled tracks
    exposure_power: float = 3.0  # weight / (1 + times shown since start) ** power: spread exposure across users
    liked_pull: float = 0.8  # how far liked tracks of the mood pull the query point toward their mean (Rocchio)

    @classmethod
    def off(cls) -> Variety:
        """The recommender as it was before variety: centroid query, nearest k, a gentler pull."""
        return cls(tournament=0, pool=0, exposure_power=0.0, liked_pull=0.35)


@dataclass(frozen=True)
class Track:
    name: str
    artist: str
    album: str
    id: str

    @property
    def spotify_url(self) -> str:
        return f"https://open.spotify.com/track/{self.id}"

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "artist": self.artist, "album": self.album, "id": self.id,
                "spotify_url": self.spotify_url}


@dataclass(frozen=True)
class Recommendation:
    mood: str
    tracks: tuple[Track, ...]
    exhausted: bool  # fewer than asked were left after exclusions


@dataclass(frozen=True)
class _MoodIndex:
    rows: np.ndarray  # catalog rows of this mood
    vectors: np.ndarray  # their standardised features, contiguous
    sq_norms: np.ndarray  # and squared norms: exact nearest neighbours by one matrix-vector product
    centroid: np.ndarray
    cumulative_weight: np.ndarray  # of confidence ** power: anchor candidates are drawn in proportion to it

    def nearest(self, point: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Distances and local indices of the ``n`` tracks nearest ``point``, nearest first.

        Brute force on purpose: in nine dimensions a k-d tree visits most leaves for the ~100 neighbours an answer
        needs (15 ms at 62k tracks per mood); one matrix-vector product and a partial sort take about a millisecond.
        einsum, not ``@``: a multi-threaded BLAS call for a product this small is 20x slower on a busy machine."""
        squared = self.sq_norms - 2 * np.einsum("ij,j->i", self.vectors, point) + point @ point
        local = np.argpartition(squared, n - 1)[:n] if n < len(squared) else np.arange(len(squared))
        local = local[np.argsort(squared[local])]
        return np.sqrt(np.maximum(squared[local], 0)), local


def _nonzero(scale: np.ndarray) -> np.ndarray:
    """A feature that never varies is left unscaled (as StandardScaler does), not divided by zero."""
    return np.where(scale < 10 * np.finfo(scale.dtype).eps, 1.0, scale)


class Recommender:
    """One scaler over the whole catalog; per mood, a feature index and a valence/energy index. Build once."""

    def __init__(self, catalog: pd.DataFrame, variety: Variety | None = None, seed: int | None = None) -> None:
        self.catalog = catalog
        self.variety = variety or Variety()
        self._rng = np.random.default_rng(seed)
        features = catalog[list(FEATURES)].to_numpy(float)
        # Standardised features (scikit-learn's StandardScaler, in two lines: importing it costs seconds a start).
        self._mean, self._scale = features.mean(axis=0), _nonzero(features.std(axis=0))
        self._vectors = (features - self._mean) / self._scale
        self._valence = FEATURES.index("valence")
        self._energy = FEATURES.index("energy")
        self._plane = [self._valence, self._energy]
        self._free = [i for i in range(len(FEATURES)) if i not in self._plane]
        self._ids = catalog["id"].to_numpy()
        # Plain arrays: building a Track must not cost a pandas row lookup on every answer.
        self._text = {c: catalog[c].astype(str).to_numpy() for c in ("name", "artist", "album")}
        self._row_of_id = {track_id: i for i, track_id in enumerate(self._ids)}
        self._mood_of_row = catalog["mood"].to_numpy()
        probability = catalog[MOOD_PROBABILITY] if MOOD_PROBABILITY in catalog else pd.Series(1.0, catalog.index)
        self._confidence = probability.to_numpy(float)
        self._exposure = np.zeros(len(catalog))  # answers each track was in since start (approximate under threads)
        self._index: dict[str, _MoodIndex] = {}
        for mood in MOODS:
            rows = np.flatnonzero(self._mood_of_row == mood)
            if len(rows):
                vectors = self._vectors[rows]
                weights = self._confidence[rows] ** self.variety.confidence_power
                self._index[mood] = _MoodIndex(rows, np.ascontiguousarray(vectors), (vectors ** 2).sum(axis=1),
                                               vectors.mean(axis=0), np.cumsum(weights))

    @classmethod
    def from_csv(cls, path: Path, variety: Variety | None = None, seed: int | None = None) -> Recommender:
        return cls(load_catalog(path), variety, seed)

    @property
    def moods(self) -> tuple[str, ...]:
        return tuple(self._index)

    def mood_size(self, mood: str) -> int:
        return len(self._index[mood].rows) if mood in self._index else 0

    def mood_of(self, track_id: str) -> str | None:
        row = self._row_of_id.get(track_id)
        return None if row is None else str(self._mood_of_row[row])

    def track(self, track_id: str) -> Track | None:
        row = self._row_of_id.get(track_id)
        return None if row is None else self._track(row)

    def vectors(self, track_ids: Sequence[str]) -> np.ndarray:
        """Standardised features of known tracks (for measuring answers)."""
        return self._vectors[[self._row_of_id[i] for i in track_ids if i in self._row_of_id]]

    def _track(self, row: int) -> Track:
        return Track(name=self._text["name"][row], artist=self._text["artist"][row],
                     album=self._text["album"][row], id=str(self._ids[row]))

    def _scaled_target(self, target: MoodTarget) -> np.ndarray:
        """The target's (valence, energy) in standardised units."""
        raw = np.array([target.valence, target.energy])
        return (raw - self._mean[self._plane]) / self._scale[self._plane]

    def _liked_rows(self, mood: str, liked_ids: Sequence[str]) -> list[int]:
        """Rows of the liked tracks of this mood: a like steers only answers of its own mood."""
        rows = (self._row_of_id.get(i) for i in liked_ids)
        return [r for r in rows if r is not None and self._mood_of_row[r] == mood]

    def query_point(self, mood: str, target: MoodTarget | None = None, liked_ids: Sequence[str] = (),
                    rng: np.random.Generator | None = None) -> np.ndarray:
        """Anchor (or centroid) with the target's valence/energy, pulled toward liked tracks of this mood."""
        index = self._index[mood]
        point = index.centroid.copy()
        if target is not None:
            point[self._plane] = self._scaled_target(target)
        liked_rows = self._liked_rows(mood, liked_ids)
        rng = rng or self._rng
        if self.variety.tournament > 0:
            if liked_rows and rng.random() >= EXPLORE:  # "more like that one": a liked track is the anchor
                anchor = liked_rows[int(rng.integers(len(liked_rows)))]
            else:
                draws = rng.random(self.variety.tournament) * index.cumulative_weight[-1]
                candidates = index.rows[np.searchsorted(index.cumulative_weight, draws, side="right")]
                gaps = np.linalg.norm(self._vectors[candidates][:, self._plane] - point[self._plane], axis=1)
                anchor = candidates[np.argmin(gaps)]
            anchored = self._vectors[anchor].copy()
            anchored[self._plane] = point[self._plane]
            point = anchored
        if liked_rows:
            point = point + self.variety.liked_pull * (self._vectors[liked_rows].mean(axis=0) - point)
        return point

    def recommend(self, mood: str, *, target: MoodTarget | None = None, k: int = 5,
                  exclude: frozenset[str] | set[str] = frozenset(), recent: Sequence[str] = (),
                  liked_ids: Sequence[str] = (), rng: np.random.Generator | None = None) -> Recommendation:
        """``k`` tracks of ``mood`` near the query point.

        ``exclude``: never (dislikes, tracks already in this answer). ``recent``: shown to this user lately, newest
        first — skipped while fresh tracks remain, then the longest-ago shown first; a liked one may come back.
        """
        if mood not in self._index:
            raise UnknownMood(f"no tracks with mood {mood!r}; moods: {', '.join(self.moods)}")
        rng = rng or self._rng
        index = self._index[mood]
        point = self.query_point(mood, target, liked_ids, rng)
        liked = set(liked_ids)
        # Position in the recency list: the larger, the longer ago it was shown.
        staleness = {track_id: age for age, track_id in enumerate(recent)
                     if track_id not in exclude and not (track_id in liked and rng.random() < LIKED_COMEBACK)}
        blocked = sum(1 for i in (*exclude, *staleness)
                      if (row := self._row_of_id.get(i)) is not None and self._mood_of_row[row] == mood)
        pool = max(self.variety.pool, k)
        n = min(len(index.rows), pool + blocked)
        distances, local = index.nearest(point, n)
        fresh, stale = [], []
        for distance, row in zip(distances, index.rows[local], strict=True):
            track_id = self._ids[row]
            if track_id in exclude:
                continue
            (stale if track_id in staleness else fresh).append((distance, row))
        if len(fresh) >= k:
            rows = self._draw(fresh[:pool], k, rng, self._liked_rows(mood, liked_ids))
        else:  # nothing fresh enough left: the tracks shown longest ago come back first
            stale.sort(key=lambda pair: -staleness[self._ids[pair[1]]])
            rows = [row for _, row in fresh + stale[:k - len(fresh)]]
        self._exposure[rows] += 1
        picked = tuple(self._track(row) for row in rows)
        return Recommendation(mood, picked, exhausted=len(picked) < k)

    def _draw(self, candidates: list[tuple[float, int]], k: int, rng: np.random.Generator,
              liked_rows: list[int]) -> list[int]:
        """``k`` of the candidates (sorted nearest first) without replacement; top-k when variety is off.
        Closer, more confidently labelled, and more like some liked track (in the features the target leaves
        free): likelier."""
        rows = np.array([row for _, row in candidates])
        if self.variety.pool == 0:
            return list(rows[:k])
        distances = np.array([d for d, _ in candidates])
        log_weight = (-(distances - distances[0]) / self.variety.temperature
                      + self.variety.confidence_power * np.log(np.maximum(self._confidence[rows], 1e-6)))
        log_weight -= self.variety.exposure_power * np.log1p(self._exposure[rows])
        if liked_rows:
            free = self._vectors[rows][:, self._free]
            gaps = np.linalg.norm(free[:, None] - self._vectors[liked_rows][None, :, self._free], axis=-1)
            log_weight -= LIKED_AFFINITY * gaps.min(axis=1)
        # Gumbel top-k: an exact weighted sample without replacement in one vectorised step.
        keys = log_weight + rng.gumbel(size=len(rows))
        return list(rows[np.argsort(-keys)[:k]])
