"""The single settings object: defaults, environment, .env file, and .env.example documenting every field."""

from __future__ import annotations

import re

from moodtunes.core.settings import PROJECT_ROOT, Settings


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
