"""The default catalog: the 40k-track hit-predictor CSV, imported and labelled by the shipped mood classifier.

It is derived row by row from shared data, so it is never committed: it is built into the data folder by
``moodtunes catalog build`` or on the first start, and rebuilt only when its source or the classifier changes.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from moodtunes.core.catalog import PROGRESS_ROWS, ImportResult, import_catalog, load_catalog, write_catalog
from moodtunes.core.errors import CatalogError
from moodtunes.core.mood_classifier import MoodClassifier

log = logging.getLogger("moodtunes.catalog")

BUILT_CATALOG = Path("catalog") / "spotify-hits-labelled.csv"  # under the data folder


@dataclass(frozen=True)
class BuildResult:
    path: Path
    built: bool  # False: the cached catalog was up to date
    tracks: int
    duplicates_dropped: int
    seconds: float
    mood_counts: dict[str, int]


def _stamp(source: Path, classifier_version: str) -> dict:
    """What the built catalog depends on: the source file and the classifier version."""
    stat = source.stat()
    return {"source": str(source.resolve()), "source_bytes": stat.st_size, "source_mtime_ns": stat.st_mtime_ns,
            "classifier": classifier_version}


def label_import(imported: ImportResult, classifier: MoodClassifier, *, progress: bool = False) -> pd.DataFrame:
    """Mood and mood probability for every imported track."""
    with tqdm(total=len(imported.catalog), unit="tracks", desc="labelling moods",
              disable=not progress or len(imported.catalog) < PROGRESS_ROWS) as bar:
        return classifier.label(imported.catalog, progress=bar)


NO_CATALOG = ("no track catalog: set CATALOG_PATH to a labelled catalog CSV (data_moods.csv columns) or "
              "CATALOG_SOURCE to a track CSV to build one from (README: Getting the track catalog)")


def build_catalog(source: Path | None, classifier_dir: Path, out: Path, *, force: bool = False,
                  progress: bool = False) -> BuildResult:
    """Import ``source`` and label it into ``out`` unless ``out`` is already built from the same inputs."""
    started = time.perf_counter()
    if source is None:  # an installed copy has no shared data folder to default to
        raise CatalogError(NO_CATALOG).for_setting("CATALOG_SOURCE")
    if not Path(source).is_file():
        raise CatalogError(f"{source}: catalog source not found (see README: Getting the track catalog; or set "
                           "CATALOG_PATH to a labelled catalog such as data_moods.csv)").for_setting("CATALOG_SOURCE")
    try:
        version = str(MoodClassifier.read_metadata(classifier_dir)["version"])
    except CatalogError as exc:
        exc.for_setting("MOOD_CLASSIFIER_DIR")
        raise
    stamp_path = out.with_name(out.name + ".json")
    stamp = _stamp(Path(source), version)
    if not force and out.is_file() and stamp_path.is_file():
        previous = json.loads(stamp_path.read_text())
        if {k: previous.get(k) for k in stamp} == stamp:
            return BuildResult(out, False, previous["tracks"], previous["duplicates_dropped"],
                               time.perf_counter() - started, previous["mood_counts"])
    try:
        imported = import_catalog(source, progress=progress)
    except CatalogError as exc:
        exc.for_setting("CATALOG_SOURCE")
        raise
    try:
        classifier = MoodClassifier.load(classifier_dir)
    except CatalogError as exc:
        exc.for_setting("MOOD_CLASSIFIER_DIR")
        raise
    labelled = label_import(imported, classifier, progress=progress)
    write_catalog(labelled, out)
    counts = {str(m): int(n) for m, n in labelled["mood"].value_counts().items()}
    stamp_path.write_text(json.dumps({**stamp, "tracks": len(labelled),
                                      "duplicates_dropped": imported.duplicates_dropped,
                                      "mood_counts": counts}, indent=1) + "\n")
    return BuildResult(out, True, len(labelled), imported.duplicates_dropped, time.perf_counter() - started, counts)


def ensure_default_catalog(settings) -> Path:
    """The catalog path to serve: ``CATALOG_PATH`` when set, else the built default (built now if missing)."""
    if settings.catalog_path is not None:
        return Path(settings.catalog_path)
    out = settings.data_dir / BUILT_CATALOG
    result = build_catalog(settings.catalog_source, settings.mood_classifier_dir, out)
    if result.built:
        log.info("built the default catalog %s: %d tracks in %.1f s", out, result.tracks, result.seconds)
    return out


def served_catalog(settings) -> pd.DataFrame:
    """The validated catalog to serve. The built default is read from a pickle of its validated frame (40k rows:
    0.1 s instead of 1-3 s of CSV parsing and validation), refreshed whenever the CSV changes."""
    path = ensure_default_catalog(settings)
    if settings.catalog_path is not None:
        try:
            return load_catalog(path)
        except CatalogError as exc:
            exc.for_setting("CATALOG_PATH")
            raise
    stat = path.stat()
    stamp = (stat.st_size, stat.st_mtime_ns)
    cache = path.with_suffix(".validated.pkl")
    if cache.is_file():
        try:
            cached_stamp, frame = pd.read_pickle(cache)
            if cached_stamp == stamp:
                return frame
        except Exception as exc:  # a cache from another pandas, or a torn file: rebuild it
            log.info("catalog cache %s unreadable (%s); rebuilding it", cache, exc)
    frame = load_catalog(path)
    partial = cache.with_name(cache.name + ".partial")
    pd.to_pickle((stamp, frame), partial)
    partial.replace(cache)
    return frame
