"""``moodtunes db upgrade`` and ``moodtunes report feedback`` through Typer's CliRunner."""

from __future__ import annotations

import sqlalchemy as sa
from typer.testing import CliRunner

from moodtunes.cli.db_commands import db_app, report_app
from moodtunes.db.store import Store
from tests.helpers import free_port

from .seed import SALT, seed_feedback

runner = CliRunner()


def tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_db_upgrade(db_url: str) -> None:
    result = runner.invoke(db_app, ["upgrade", "--url", db_url])
    assert result.exit_code == 0, result.output
    assert "schema is up to date" in result.output
    assert {"users", "recommendation_events", "feedback", "alembic_version"} <= tables(db_url)


def test_report_feedback_with_plot(db_url: str, tmp_path) -> None:
    assert runner.invoke(db_app, ["upgrade", "--url", db_url]).exit_code == 0
    with Store(db_url, salt=SALT) as store:
        seed_feedback(store)
    png = tmp_path / "feedback.png"
    result = runner.invoke(report_app, ["feedback", "--url", db_url, "--plot", str(png)])
    assert result.exit_code == 0, result.output
    assert ["happy", "2", "2", "4", "50.0%"] in [line.split() for line in result.output.splitlines()]
    assert f"plot written to {png}" in result.output
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_report_on_an_unmigrated_database_says_what_to_do(tmp_path) -> None:
    result = runner.invoke(report_app, ["feedback", "--url", f"sqlite:///{tmp_path / 'new.sqlite3'}"])
    assert result.exit_code == 1
    assert "moodtunes db upgrade" in result.output


def test_default_url_comes_from_the_settings(monkeypatch, tmp_path) -> None:
    from moodtunes.core import settings as core_settings

    url = f"sqlite:///{tmp_path / 'from-settings.sqlite3'}"
    fake = core_settings.Settings(_env_file=None, data_dir=tmp_path, database_url=url)
    monkeypatch.setattr(core_settings, "get_settings", lambda: fake)
    assert runner.invoke(db_app, ["upgrade"]).exit_code == 0
    assert "feedback" in tables(url)
    result = runner.invoke(report_app, ["feedback"])
    assert result.exit_code == 0, result.output
    assert result.output.count("(no votes)") == 4


def test_db_upgrade_on_an_unreachable_database_is_one_line_without_the_password(tmp_path) -> None:
    url = f"postgresql+psycopg://root:upgrade-secret-pw@127.0.0.1:{free_port()}/test"
    result = runner.invoke(db_app, ["upgrade", "--url", url])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "check --url" in result.stderr and "Connection refused" in result.stderr
    assert "upgrade-secret-pw" not in result.output
