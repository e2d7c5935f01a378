"""Shared fixtures: real photos (scikit-image), the real shipped model and catalog, a real SQLite file."""

from __future__ import annotations

import io
import logging
import os
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest
from PIL import Image

from core.settings import Settings


def encode(array_or_image, fmt: str = "JPEG", **params) -> bytes:
    image = array_or_image if isinstance(array_or_image, Image.Image) else Image.fromarray(np.asarray(array_or_image))
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


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
    from core.pipeline import Pipeline

    built = Pipeline.from_settings(settings)
    built.warm_up()
    return built


@pytest.fixture
def store(tmp_path):
    return migrated_sqlite_store(tmp_path)


@pytest.fixture
def service(pipeline, store):
    from bot.service import ChatService

    return ChatService(pipeline, store, photos_per_minute=1000)


FER_ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "fer2013"


def fer_faces(split: str, emotion: str, n: int) -> np.ndarray:
    """The first ``n`` real FER2013 faces of one class, as (n, 48, 48) uint8."""
    paths = sorted((FER_ROOT / split / emotion).iterdir())[:n]
    return np.stack([np.asarray(Image.open(p).convert("L")) for p in paths])


class KeepRecords(logging.Handler):
    """Collects every log record it sees (for module-wide log assertions; caplog sees one test only)."""

    def __init__(self, level: int = logging.DEBUG) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def capture_logs(logger_name: str | None = None, level: int = logging.DEBUG):
    """Every record ``logger_name`` (the root logger by default) sees at ``level`` and above, while inside."""
    logger, keep = logging.getLogger(logger_name), KeepRecords(level)
    old_level = logger.level
    if old_level == logging.NOTSET or old_level > level:
        logger.setLevel(level)
    logger.addHandler(keep)
    try:
        yield keep.records
    finally:
        logger.removeHandler(keep)
        logger.setLevel(old_level)


def migrated_sqlite_store(folder: Path):
    """A real, migrated SQLite store in ``folder`` (close it when done)."""
    from db.store import Store

    built = Store(f"sqlite:///{folder / 'moodtunes.sqlite3'}", salt="test-salt")
    built.upgrade()
    return built
