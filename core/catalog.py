"""The track catalog: the CSV format, its validation, and importing other Spotify CSV schemas into it.

A catalog has the columns of Kaggle's ``data_moods.csv``; an optional ``mood_probability`` column says how sure the
mood label is (a classifier's probability; hand-labelled catalogs are taken as certain). Every error names the file,
the row (CSV line) and the column — the *source* column when the rows came from an import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from moodtunes.core.errors import CatalogError
from moodtunes.core.mood import MOODS, canonical_mood

CATALOG_COLUMNS = (
    "name", "album", "artist", "id", "release_date", "popularity", "length", "danceability", "acousticness",
    "energy", "instrumentalness", "liveness", "valence", "loudness", "speechiness", "tempo", "key",
    "time_signature", "mood",
)
MOOD_PROBABILITY = "mood_probability"
# The audio character of a track; popularity, length, key and time signature say little about mood.
FEATURES = ("danceability", "acousticness", "energy", "instrumentalness", "liveness", "valence", "loudness",
            "speechiness", "tempo")
NUMERIC_COLUMNS = ("length", *FEATURES, "key", "time_signature")
# Known only for some sources (the hit-predictor CSV has no popularity): empty is allowed.
OPTIONAL_NUMERIC_COLUMNS = ("popularity",)
SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")
SPOTIFY_URI = r"^spotify:track:([0-9A-Za-z]{22})$"
# Imports this large show a progress bar (reading, then validating).
PROGRESS_ROWS = 10_000
CHUNK_ROWS = 5_000


def _line(index: int) -> int:
    """CSV line number of a data row (the header is line 1)."""
    return int(index) + 2


def _read_csv(path: Path, progress: bool = False) -> pd.DataFrame:
    if not path.is_file():
        raise CatalogError(f"{path}: catalog file not found (see README: Getting the track catalog)")
    try:
        if not progress:
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        with path.open("rb") as handle:
            rows = max(sum(1 for _ in handle) - 1, 0)
        with tqdm(total=rows, unit="rows", desc=f"reading {path.name}", disable=rows < PROGRESS_ROWS) as bar:
            chunks = []
            for chunk in pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=CHUNK_ROWS):
                chunks.append(chunk)
                bar.update(len(chunk))
        return pd.concat(chunks, ignore_index=True) if chunks else pd.read_csv(path, dtype=str)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise CatalogError(f"{path}: not a readable CSV ({exc})") from exc


def _first(mask: pd.Series | np.ndarray) -> int:
    return int(np.flatnonzero(np.asarray(mask))[0])


def validate_catalog(frame: pd.DataFrame, where: str, *, labelled: bool = True,
                     source_names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Check and convert a catalog-format frame of strings (numbers become floats, moods canonical).

    ``labelled=False`` accepts an empty mood (an imported catalog waiting for the mood classifier);
    ``source_names`` maps catalog columns to the source's own names for error messages.
    """
    named = dict(source_names or {})

    def fail(i: int, column: str, problem: str) -> CatalogError:
        return CatalogError(f"{where}: row {_line(i)}, column {named.get(column, column)}: {problem}")

    missing = [c for c in CATALOG_COLUMNS if c not in frame.columns]
    if missing:
        raise CatalogError(f"{where}: row 1 (header): missing column(s) {', '.join(missing)}")
    if frame.empty:
        raise CatalogError(f"{where}: no tracks")
    frame = frame.copy()
    for column in (*NUMERIC_COLUMNS, *OPTIONAL_NUMERIC_COLUMNS):
        text = frame[column].str.strip()
        values = pd.to_numeric(text, errors="coerce")
        bad = values.isna() | ~np.isfinite(values)
        if column in OPTIONAL_NUMERIC_COLUMNS:
            bad &= text != ""
        if bad.any():
            i = _first(bad)
            raise fail(i, column, f"{frame[column].iloc[i]!r} is not a number")
        frame[column] = values.astype(float)
    for column in ("name", "artist", "id"):
        empty = frame[column].str.strip() == ""
        if empty.any():
            raise fail(_first(empty), column, "empty")
    bad_ids = ~frame["id"].str.fullmatch(SPOTIFY_ID)
    if bad_ids.any():
        i = _first(bad_ids)
        raise fail(i, "id", f"{frame['id'].iloc[i]!r} is not a Spotify track id")
    moods = frame["mood"].map(lambda m: canonical_mood(m) or ("" if not m.strip() and not labelled else None))
    unknown = moods.isna()
    if unknown.any():
        i = _first(unknown)
        raise fail(i, "mood", f"{frame['mood'].iloc[i]!r} is not one of {', '.join(MOODS)}")
    frame["mood"] = moods.astype(str)
    if MOOD_PROBABILITY in frame.columns:
        probability = pd.to_numeric(frame[MOOD_PROBABILITY].astype(str).str.strip(), errors="coerce")
        bad = probability.isna() | (probability < 0) | (probability > 1)
        if labelled and bad.any():
            i = _first(bad)
            raise fail(i, MOOD_PROBABILITY, f"{frame[MOOD_PROBABILITY].iloc[i]!r} is not a probability (0..1)")
        frame[MOOD_PROBABILITY] = probability.astype(float)
    else:
        frame[MOOD_PROBABILITY] = 1.0  # hand-labelled: certain
    return frame


def _duplicate_error(frame: pd.DataFrame, where: str, id_column: str) -> CatalogError | None:
    duplicated = frame["id"].duplicated()
    if not duplicated.any():
        return None
    i = _first(duplicated)
    first = _first(frame["id"] == frame["id"].iloc[i])
    return CatalogError(f"{where}: row {_line(i)}, column {id_column}: duplicate id {frame['id'].iloc[i]} "
                        f"(first at row {_line(first)})")


def load_catalog(path: Path) -> pd.DataFrame:
    """Read and validate a labelled catalog CSV (duplicate ids are an error here: imports drop them)."""
    path = Path(path)
    frame = validate_catalog(_read_csv(path), str(path))
    if (error := _duplicate_error(frame, str(path), "id")) is not None:
        raise error
    return frame.reset_index(drop=True)


@dataclass(frozen=True)
class SourceFormat:
    """How another CSV schema maps onto the catalog: catalog column <- source column, the rest left empty."""

    name: str
    columns: dict[str, str]
    id_from_uri: bool = False  # the id column holds ``spotify:track:<id>``

    @property
    def source_columns(self) -> tuple[str, ...]:
        return tuple(self.columns.values())


SOURCE_FORMATS: dict[str, SourceFormat] = {
    "catalog": SourceFormat("catalog", {c: c for c in CATALOG_COLUMNS if c != "mood"}),
    # "The Spotify Hit Predictor Dataset (1960-2019)": no album, popularity or mood; a decade instead of a date.
    "spotify-hits": SourceFormat("spotify-hits", {
        "name": "track", "artist": "artist", "id": "uri", "release_date": "decade", "length": "duration_ms",
        **{c: c for c in (*FEATURES, "key", "time_signature")},
    }, id_from_uri=True),
}


def detect_format(header: list[str]) -> SourceFormat:
    """The first known format whose source columns are all in ``header``."""
    for fmt in SOURCE_FORMATS.values():
        if set(fmt.source_columns) <= set(header):
            return fmt
    raise CatalogError("row 1 (header): not a known track CSV; formats: "
                       + "; ".join(f"{f.name} ({', '.join(f.source_columns)})" for f in SOURCE_FORMATS.values()))


@dataclass(frozen=True)
class ImportResult:
    """An unlabelled catalog (mood empty unless the source had one) and what the import did."""

    catalog: pd.DataFrame
    source_rows: int
    duplicates_dropped: int
    format: str


def import_catalog(source: Path, fmt: str = "auto", *, progress: bool = False) -> ImportResult:
    """Read a track CSV of another schema into the catalog format, validated row by row.

    Duplicate ids are dropped (the first row of each id is kept) and counted.
    """
    source = Path(source)
    raw = _read_csv(source, progress=progress)
    if fmt == "auto":
        try:
            spec = detect_format(list(raw.columns))
        except CatalogError as exc:
            raise CatalogError(f"{source}: {exc}") from None
    elif fmt in SOURCE_FORMATS:
        spec = SOURCE_FORMATS[fmt]
    else:
        raise CatalogError(f"unknown format {fmt!r}; choose auto or one of {', '.join(SOURCE_FORMATS)}")
    missing = [c for c in spec.source_columns if c not in raw.columns]
    if missing:
        raise CatalogError(f"{source}: row 1 (header): missing column(s) {', '.join(missing)} "
                           f"for format {spec.name}")
    frame = pd.DataFrame({c: raw[spec.columns[c]] if c in spec.columns else "" for c in CATALOG_COLUMNS})
    if "mood" in raw.columns:  # a source that is already labelled keeps its labels
        frame["mood"] = raw["mood"]
    if spec.id_from_uri:
        ids = raw[spec.columns["id"]].str.strip().str.extract(SPOTIFY_URI, expand=False)
        bad = ids.isna()
        if bad.any():
            i = _first(bad)
            raise CatalogError(f"{source}: row {_line(i)}, column {spec.columns['id']}: "
                               f"{raw[spec.columns['id']].iloc[i]!r} is not a spotify:track:<id> URI")
        frame["id"] = ids
    source_names = {c: s for c, s in spec.columns.items() if c != s}
    frame = validate_catalog(frame, str(source), labelled=False, source_names=source_names)
    if MOOD_PROBABILITY not in raw.columns:
        frame = frame.drop(columns=[MOOD_PROBABILITY])
    duplicated = frame["id"].duplicated()
    frame = frame[~duplicated].reset_index(drop=True)
    return ImportResult(frame, source_rows=len(raw), duplicates_dropped=int(duplicated.sum()), format=spec.name)


def write_catalog(frame: pd.DataFrame, path: Path) -> None:
    """Write a catalog CSV atomically (a half-written catalog must never be loaded)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    frame.to_csv(partial, index=False)
    partial.replace(path)
