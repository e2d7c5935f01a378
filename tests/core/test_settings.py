"""The single settings object: defaults, environment, .env file, and .env.example documenting every field."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from moodtunes.cli.main import app
from moodtunes.core import settings as settings_module
from moodtunes.core.settings import PROJECT_ROOT, Settings

runner = CliRunner()


def test_defaults_find_the_shipped_model_and_the_catalog_beside_the_checkout():
    settings = Settings(_env_file=None)
    assert (settings.model_dir / "model.tflite").is_file()
    # No CATALOG_PATH: the 40k catalog built from the hit-predictor CSV beside the checkout by the shipped classifier.
    assert settings.catalog_path is None and settings.catalog_source.is_file()
    assert (settings.mood_classifier_dir / "metadata.json").is_file()
    url = settings.database_url.get_secret_value()
    assert url.startswith("sqlite:///") and url.endswith("moodtunes.sqlite3")
    assert settings.default_strategy == "match"


def test_env_file_and_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("DEFAULT_STRATEGY=uplift\nPHOTOS_PER_MINUTE=3\nTELEGRAM_TOKEN=1:from-dotenv\n")
    monkeypatch.setenv("PHOTOS_PER_MINUTE", "7")  # the environment wins over .env
    settings = Settings()
    assert settings.default_strategy == "uplift" and settings.photos_per_minute == 7
    assert settings.telegram_token.get_secret_value() == "1:from-dotenv"
    assert "from-dotenv" not in repr(settings)  # secrets never print


def test_an_empty_catalog_path_means_the_default(monkeypatch):
    monkeypatch.setenv("CATALOG_PATH", " ")
    assert Settings(_env_file=None).catalog_path is None
    monkeypatch.setenv("CATALOG_PATH", "../shared/data/music/data_moods.csv")
    assert Settings(_env_file=None).catalog_path.name == "data_moods.csv"


def test_salt_is_created_once_and_kept(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path)
    first = settings.resolved_salt()
    assert len(first) == 64 and Settings(_env_file=None, data_dir=tmp_path).resolved_salt() == first


def test_env_example_documents_every_setting():
    documented = set(re.findall(r"^#? ?([A-Z_]+)=", (PROJECT_ROOT / ".env.example").read_text(), re.M))
    assert documented == {name.upper() for name in Settings.model_fields}


def test_database_url_is_a_secret(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path,
                        database_url="postgresql+psycopg://bob:hunter2-secret@db.example/moodtunes")
    assert "hunter2-secret" not in repr(settings) + str(settings)
    assert settings.database_url.get_secret_value().endswith("@db.example/moodtunes")
    assert "hunter2-secret" in settings.secret_values()


def test_an_installed_copy_keeps_data_in_the_user_data_folder(monkeypatch, tmp_path):
    monkeypatch.setattr(settings_module, "CHECKOUT", None)  # what site-packages/moodtunes sees
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    installed = Settings(_env_file=None)
    assert installed.data_dir == tmp_path / "xdg" / "moodtunes"
    assert installed.catalog_source is None  # no shared data folder beside it: CATALOG_PATH or CATALOG_SOURCE
    assert (installed.model_dir / "model.tflite").is_file()  # the shipped models are package data
    monkeypatch.setenv("XDG_DATA_HOME", "relative/path")  # not absolute: ignored, as the XDG spec says
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert Settings(_env_file=None).data_dir == tmp_path / "home" / ".local" / "share" / "moodtunes"


def test_a_checkout_keeps_data_in_its_own_folder():
    assert settings_module.CHECKOUT == PROJECT_ROOT and (PROJECT_ROOT / "pyproject.toml").is_file()
    assert Settings(_env_file=None).data_dir == PROJECT_ROOT / "data"


@pytest.fixture
def env_files(tmp_path, monkeypatch):
    """A project folder and a working folder, each with a .env naming its own database; no DATABASE_URL set."""
    project, cwd = tmp_path / "project", tmp_path / "cwd"
    for folder in (project, cwd):
        folder.mkdir()
        (folder / ".env").write_text(f"DATABASE_URL=sqlite:///{folder / 'from-env-file.sqlite3'}\n")
    monkeypatch.setattr(settings_module, "CHECKOUT", project)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(cwd)
    return project, cwd


def database_in_use(*args: str) -> str:
    """The database `moodtunes [args] db upgrade` migrates (it prints the URL)."""
    result = runner.invoke(app, [*args, "db", "upgrade"])
    assert result.exit_code == 0, result.output
    return result.stdout.split(": schema is up to date")[0]


def test_env_file_from_the_working_folder_first(env_files):
    project, cwd = env_files
    assert database_in_use() == f"sqlite:///{cwd / 'from-env-file.sqlite3'}"


def test_env_file_from_the_project_folder_when_the_working_folder_has_none(env_files):
    project, cwd = env_files
    (cwd / ".env").unlink()
    assert database_in_use() == f"sqlite:///{project / 'from-env-file.sqlite3'}"


def test_env_file_option_wins_over_both_and_the_environment_over_it(env_files, tmp_path, monkeypatch):
    chosen = tmp_path / "chosen.env"
    chosen.write_text(f"DATABASE_URL=sqlite:///{tmp_path / 'chosen.sqlite3'}\nDEFAULT_STRATEGY=uplift\n")
    assert database_in_use("--env-file", str(chosen)) == f"sqlite:///{tmp_path / 'chosen.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'environment.sqlite3'}")
    assert database_in_use("--env-file", str(chosen)) == f"sqlite:///{tmp_path / 'environment.sqlite3'}"
    assert settings_module.default_env_file() == env_files[1] / ".env"  # the option lasts one command
