"""Shared fixtures: real photos (scikit-image), the real shipped model and catalog, a real SQLite file.
Helpers that are not fixtures live in tests/helpers.py."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest
from PIL import Image

from moodtunes.core.settings import Settings
from tests.helpers import encode, migrated_sqlite_store, redis_prefix


@pytest.fixture(scope="session")
def astronaut_image() -> Image.Image:
    from skimage import data

    return Image.fromarray(data.astronaut())


@pytest.fixture(scope="session")
def astronaut_jpeg(astronaut_image) -> bytes:
    return encode(astronaut_image)


@pytest.fixture(scope="session")
def coffee_jpeg() -> bytes:
    from skimage import data

    return encode(data.coffee())


@pytest.fixture(scope="session")
def chelsea_jpeg() -> bytes:
    from skimage import data

    return encode(data.chelsea())


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    """Embedded defaults (shipped model, catalog beside the checkout), with a private data dir."""
    data_dir = tmp_path_factory.mktemp("data")
    return Settings(_env_file=None, data_dir=data_dir, user_id_salt="test-salt")


@pytest.fixture(scope="session")
def pipeline(settings):
    from moodtunes.core.pipeline import Pipeline

    built = Pipeline.from_settings(settings)
    built.warm_up(background=False)
    return built


@pytest.fixture
def store(tmp_path):
    return migrated_sqlite_store(tmp_path)


@pytest.fixture
def service(pipeline, store):
    from moodtunes.bot.service import ChatService

    return ChatService(pipeline, store, photos_per_minute=1000)


@pytest.fixture
def redis_keys() -> str:
    """A Redis key prefix of the test's own (the real Redis on loopback); its keys go afterwards."""
    with redis_prefix() as prefix:
        yield prefix
