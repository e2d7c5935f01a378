"""Track catalog (validated CSV) and K-nearest-neighbours recommendations over standardised audio features."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

from core.errors import CatalogError, UnknownMood
from core.mood import MOODS, MoodTarget, canonical_mood

CATALOG_COLUMNS = (
    "name", "album", "artist", "id", "release_date", "popularity", "length", "danceability", "acousticness",
    "energy", "instrumentalness", "liveness", "valence", "loudness", "speechiness", "tempo", "key",
    "time_signature", "mood",
)
# The audio character of a track; popularity, length, key and time signature say little about mood.
FEATURES = ("danceability", "acousticness", "energy", "instrumentalness", "liveness", "valence", "loudness",
            "speechiness", "tempo")
NUMERIC_COLUMNS = ("popularity", "length", *FEATURES, "key", "time_signature")
SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")
# How far liked tracks pull the query point toward their mean (Rocchio's beta).
LIKED_PULL = 0.35


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


def _line(index: int) -> int:
    """CSV line number of a data row (the header is line 1)."""
    return int(index) + 2


def load_catalog(path: Path) -> pd.DataFrame:
    """Read and validate a catalog CSV. Every error names the file, the row (CSV line) and the column."""
    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"{path}: catalog file not found (download data_moods.csv from Kaggle; see README)")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise CatalogError(f"{path}: not a readable CSV ({exc})") from exc
    missing = [c for c in CATALOG_COLUMNS if c not in frame.columns]
    if missing:
        raise CatalogError(f"{path}: row 1 (header): missing column(s) {', '.join(missing)}")
    if frame.empty:
        raise CatalogError(f"{path}: no tracks")
    for column in NUMERIC_COLUMNS:
        values = pd.to_numeric(frame[column].str.strip(), errors="coerce")
        bad = values.isna() | ~np.isfinite(values)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise CatalogError(f"{path}: row {_line(i)}, column {column}: {frame[column].iloc[i]!r} is not a number")
        frame[column] = values.astype(float)
    for column in ("name", "artist", "id"):
        empty = frame[column].str.strip() == ""
        if empty.any():
            raise CatalogError(f"{path}: row {_line(int(np.flatnonzero(empty.to_numpy())[0]))}, column {column}: empty")
    bad_ids = ~frame["id"].str.fullmatch(SPOTIFY_ID)
    if bad_ids.any():
        i = int(np.flatnonzero(bad_ids.to_numpy())[0])
        raise CatalogError(f"{path}: row {_line(i)}, column id: {frame['id'].iloc[i]!r} is not a Spotify track id")
    duplicated = frame["id"].duplicated()
    if duplicated.any():
        i = int(np.flatnonzero(duplicated.to_numpy())[0])
        first = int(np.flatnonzero((frame["id"] == frame["id"].iloc[i]).to_numpy())[0])
        raise CatalogError(f"{path}: row {_line(i)}, column id: duplicate id {frame['id'].iloc[i]} "
                           f"(first at row {_line(first)})")
    moods = frame["mood"].map(lambda m: canonical_mood(m) or "")
    unknown = moods == ""
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise CatalogError(f"{path}: row {_line(i)}, column mood: {frame['mood'].iloc[i]!r} is not one of "
                           f"{', '.join(MOODS)}")
    frame["mood"] = moods
    return frame.reset_index(drop=True)


@dataclass(frozen=True)
class Recommendation:
    mood: str
    tracks: tuple[Track, ...]
    exhausted: bool  # fewer than asked were left after exclusions


class Recommender:
    """One scaler over the whole catalog, one Euclidean nearest-neighbours index per mood. Build once."""

    def __init__(self, catalog: pd.DataFrame) -> None:
        self.catalog = catalog
        self._scaler = StandardScaler().fit(catalog[list(FEATURES)].to_numpy(float))
        self._vectors = self._scaler.transform(catalog[list(FEATURES)].to_numpy(float))
        self._row_of_id = {track_id: i for i, track_id in enumerate(catalog["id"])}
        self._index: dict[str, tuple[np.ndarray, NearestNeighbors]] = {}
        self._centroid: dict[str, np.ndarray] = {}
        for mood in MOODS:
            rows = np.flatnonzero((catalog["mood"] == mood).to_numpy())
            if len(rows):
                self._index[mood] = (rows, NearestNeighbors(metric="euclidean").fit(self._vectors[rows]))
                self._centroid[mood] = self._vectors[rows].mean(axis=0)
        self._ids = catalog["id"].to_numpy()
        self._valence = FEATURES.index("valence")
        self._energy = FEATURES.index("energy")

    @classmethod
    def from_csv(cls, path: Path) -> Recommender:
        return cls(load_catalog(path))

    @property
    def moods(self) -> tuple[str, ...]:
        return tuple(m for m in MOODS if m in self._index)

    def mood_size(self, mood: str) -> int:
        return len(self._index[mood][0]) if mood in self._index else 0

    def track(self, track_id: str) -> Track | None:
        row = self._row_of_id.get(track_id)
        return None if row is None else self._track(row)

    def _track(self, row: int) -> Track:
        r = self.catalog.iloc[row]
        return Track(name=str(r["name"]), artist=str(r["artist"]), album=str(r["album"]), id=str(r["id"]))

    def query_point(self, mood: str, target: MoodTarget | None = None, liked_ids: tuple[str, ...] = ()) -> np.ndarray:
        """The mood's centroid; valence/energy set from the target; pulled toward liked tracks."""
        point = self._centroid[mood].copy()
        if target is not None:
            raw = self._scaler.mean_.copy()
            raw[self._valence], raw[self._energy] = target.valence, target.energy
            scaled = self._scaler.transform(raw[None])[0]
            point[self._valence], point[self._energy] = scaled[self._valence], scaled[self._energy]
        liked_rows = [self._row_of_id[i] for i in liked_ids if i in self._row_of_id]
        if liked_rows:
            point = point + LIKED_PULL * (self._vectors[liked_rows].mean(axis=0) - point)
        return point

    def recommend(self, mood: str, *, target: MoodTarget | None = None, k: int = 5,
                  exclude: set[str] | frozenset[str] = frozenset(), liked_ids: tuple[str, ...] = ()) -> Recommendation:
        """The ``k`` tracks of ``mood`` nearest the query point, skipping ``exclude`` ids."""
        if mood not in self._index:
            raise UnknownMood(f"no tracks with mood {mood!r}; moods: {', '.join(self.moods)}")
        rows, index = self._index[mood]
        point = self.query_point(mood, target, liked_ids)[None]
        excluded_here = sum(1 for i in exclude if self._row_of_id.get(i, -1) >= 0)
        n = min(len(rows), k + excluded_here)
        _, neighbours = index.kneighbors(point, n_neighbors=n)
        picked: list[Track] = []
        for local in neighbours[0]:
            track_id = self._ids[rows[local]]
            if track_id in exclude:
                continue
            picked.append(self._track(rows[local]))
            if len(picked) == k:
                break
        return Recommendation(mood, tuple(picked), exhausted=len(picked) < k)
