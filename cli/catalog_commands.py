"""``moodtunes catalog ...`` (import, label, build) and ``moodtunes train catalog``, mounted by cli.main."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

catalog_app = typer.Typer(help="Admin: track catalogs (import another CSV schema, label moods, build the default).",
                          no_args_is_help=True, rich_markup_mode=None)  # see cli.main


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _moods(counts: dict[str, int]) -> str:
    return ", ".join(f"{mood} {n:,}" for mood, n in sorted(counts.items(), key=lambda item: -item[1]))


@catalog_app.command("import")
def import_command(
    source: Annotated[Path, typer.Argument(metavar="SOURCE",
                                           help="a track CSV, e.g. spotify_hit_predictor_1960-2019.csv")],
    out: Annotated[Path, typer.Option(help="the catalog CSV to write (mood left empty: see `catalog label`)")],
    fmt: Annotated[str, typer.Option("--format", help="auto (by header), spotify-hits or catalog")] = "auto",
) -> None:
    """Turn SOURCE into the catalog format: columns mapped, ids from URIs, duplicates dropped and counted."""
    from moodtunes.core.catalog import import_catalog, write_catalog
    from moodtunes.core.errors import CatalogError

    try:
        result = import_catalog(source, fmt, progress=True)
    except CatalogError as exc:
        _fail(str(exc))
    write_catalog(result.catalog, out)
    typer.echo(f"{source.name} ({result.format}): {result.source_rows:,} rows -> {len(result.catalog):,} tracks, "
               f"{result.duplicates_dropped:,} duplicate ids dropped (first row kept)")
    typer.echo(f"written to {out}")


@catalog_app.command("label")
def label_command(
    catalog: Annotated[Path, typer.Argument(metavar="CATALOG", help="an imported (unlabelled) catalog CSV")],
    out: Annotated[Path, typer.Option(help="the labelled catalog CSV to write")],
    model: Annotated[Path | None, typer.Option(help="mood classifier folder [default: MOOD_CLASSIFIER_DIR]")] = None,
) -> None:
    """Add each track's predicted mood and its probability (mood_probability) with the mood classifier."""
    from moodtunes.core.catalog import import_catalog, write_catalog
    from moodtunes.core.catalog_build import label_import
    from moodtunes.core.errors import CatalogError
    from moodtunes.core.mood_classifier import MoodClassifier
    from moodtunes.core.settings import get_settings

    try:
        classifier = MoodClassifier.load(model or get_settings().mood_classifier_dir)
        labelled = label_import(import_catalog(catalog, "catalog", progress=True), classifier, progress=True)
    except CatalogError as exc:
        _fail(str(exc))
    write_catalog(labelled, out)
    typer.echo(f"{len(labelled):,} tracks labelled by {classifier.version}: {_moods(labelled['mood'].value_counts())}")
    typer.echo(f"mean mood probability {labelled['mood_probability'].mean():.3f}; written to {out}")


@catalog_app.command("build")
def build_command(
    force: Annotated[bool, typer.Option(help="rebuild even when the built catalog is up to date")] = False,
) -> None:
    """Build the default catalog (CATALOG_SOURCE imported and labelled) into DATA_DIR; skipped when up to date."""
    from moodtunes.core.catalog_build import BUILT_CATALOG, build_catalog
    from moodtunes.core.errors import CatalogError
    from moodtunes.core.settings import get_settings

    settings = get_settings()
    try:
        result = build_catalog(settings.catalog_source, settings.mood_classifier_dir,
                               settings.data_dir / BUILT_CATALOG, force=force, progress=True)
    except CatalogError as exc:
        _fail(str(exc))
    what = "built" if result.built else "up to date"
    typer.echo(f"{result.path}: {what}, {result.tracks:,} tracks ({_moods(result.mood_counts)}), "
               f"{result.duplicates_dropped:,} duplicate ids dropped, {result.seconds:.1f} s")
    if settings.catalog_path is not None:
        typer.echo(f"note: CATALOG_PATH={settings.catalog_path} is set, so the bot serves that catalog instead")


def train_catalog(
    labelled: Annotated[Path, typer.Option(help="hand-labelled catalog CSV")] = Path(
        "../shared/data/music/data_moods.csv"),
    out: Annotated[Path, typer.Option(help="folder for model.joblib and metadata.json")] = Path("models/mood"),
    candidates: Annotated[str | None, typer.Option(
        help="comma-separated classifiers to compare [default: all: knn, logistic, svm, random_forest, "
             "gradient_boosting]")] = None,
) -> None:
    """Compare mood classifiers on the audio features (stratified CV), save the best with its metadata."""
    from moodtunes.core.errors import CatalogError
    from moodtunes.training.train_catalog import CANDIDATES, format_result, train

    names = [n.strip() for n in candidates.split(",") if n.strip()] if candidates else list(CANDIDATES)
    try:
        result = train(labelled, out, names)
    except (CatalogError, ValueError) as exc:
        _fail(str(exc))
    typer.echo(format_result(result))
    typer.echo(f"\nsaved {result.metadata['version']} to {out}")
