"""``moodtunes db ...`` and ``moodtunes report ...``: Typer sub-apps for the main CLI to mount.

The main app mounts them with ``app.add_typer(db_app, name="db")`` and
``app.add_typer(report_app, name="report")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from moodtunes.db.errors import StorageUnavailable
from moodtunes.db.report import feedback_summary, plot, render_table
from moodtunes.db.store import Store

db_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)  # see cli.main
report_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None)  # see cli.main

UrlOption = Annotated[
    str | None,
    typer.Option("--url", help="SQLAlchemy database URL [default: DATABASE_URL from the settings]"),
]


@db_app.callback()
def _db_group() -> None:
    """Database maintenance."""
    # A callback keeps this a command group even with a single command (Typer would flatten it).


@report_app.callback()
def _report_group() -> None:
    """Reports over stored data."""


@db_app.command("upgrade")
def upgrade_command(url: UrlOption = None) -> None:
    """Apply all Alembic migrations (creates the tables on an empty database)."""
    target = url or _settings_url()
    try:
        with Store(target, salt="") as store:  # migrating hashes no user id: no salt needed
            store.upgrade()
    except StorageUnavailable as exc:
        typer.echo(f"error: the database {_redacted(target)} cannot be used ({exc}): check "
                   f"{'--url' if url else 'DATABASE_URL'}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(f"{_redacted(target)}: schema is up to date")


@report_app.command("feedback")
def feedback_command(
    url: UrlOption = None,
    plot_path: Annotated[
        Path | None, typer.Option("--plot", help="also write a PNG bar chart here", dir_okay=False)
    ] = None,
) -> None:
    """Like-rate of the recommendations by emotion, mood, strategy and model version."""
    target = url or _settings_url()
    # The report reads aggregates only and never hashes a user id, so it needs no salt.
    store = Store(target, salt="")
    try:
        if not inspect(store.engine).has_table("feedback"):
            typer.echo(f"{_redacted(target)} has no feedback table; run `moodtunes db upgrade` first", err=True)
            raise typer.Exit(code=1)
        summary = feedback_summary(store)
    finally:
        store.close()
    typer.echo(render_table(summary), nl=False)
    if plot_path is not None:
        typer.echo(f"plot written to {plot(summary, plot_path)}")


def _settings_url() -> str:
    # Imported on use: --url alone must work without loading (and validating) the app settings.
    from moodtunes.core.settings import get_settings

    return get_settings().database_url.get_secret_value()


def _redacted(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"
