"""Helpers shared by the test suites (fixtures live in the conftest.py files): photo encoding, FER faces, log
capture, a migrated SQLite store, decompression-bomb PNG and HEIC files, HEIC and AVIF encoding."""

from __future__ import annotations

import io
import logging
import os
import struct
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

# The real services of the test suite, on loopback (override for CI elsewhere).
POSTGRES_URL = os.environ.get("MOODTUNES_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("MOODTUNES_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
FER_ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "fer2013"
# The tiny FER folder of the training tests (tests/training/conftest.py): faces per class in each split.
TINY_FER_TRAIN_PER_CLASS, TINY_FER_VAL_PER_CLASS = 20, 5


def encode(array_or_image, fmt: str = "JPEG", **params) -> bytes:
    image = array_or_image if isinstance(array_or_image, Image.Image) else Image.fromarray(np.asarray(array_or_image))
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


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
    from moodtunes.db.store import Store

    built = Store(f"sqlite:///{folder / 'moodtunes.sqlite3'}", salt="test-salt")
    built.upgrade()
    return built


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming width x height, with a tiny compressed body."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 64, 9)  # only a few rows: decoding would need far more
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def heic(image: Image.Image, quality: int = 80) -> bytes:
    """HEIC bytes (HEVC in HEIF, as an iPhone saves a photo), encoded by pillow-heif's own x265 encoder."""
    import pillow_heif

    buffer = io.BytesIO()
    pillow_heif.from_pillow(image.convert("RGB")).save(buffer, quality=quality)
    return buffer.getvalue()


def avif(image: Image.Image, quality: int = 80) -> bytes:
    """AVIF bytes, encoded by Pillow's own AVIF plugin (pillow-heif's wheels carry no AV1 codec)."""
    return encode(image.convert("RGB"), "AVIF", quality=quality)


def heic_claiming(width: int, height: int, image: Image.Image | None = None) -> bytes:
    """A real small HEIC whose header (its ``ispe`` image-size property) claims ``width`` x ``height``.

    Readers take the size from ``ispe`` before decoding anything; decoding this file would fail (the coded
    picture is not that big), so a reader that refuses it as too large has checked the size first."""
    data = bytearray(heic(image if image is not None else Image.new("RGB", (64, 64), (90, 120, 150))))
    found = data.find(b"ispe")  # box type, then version/flags (4 bytes), then width and height (4 bytes each)
    assert found > 0 and data.find(b"ispe", found + 4) < 0, "expected one ispe box"
    data[found + 8:found + 16] = struct.pack(">II", width, height)
    return bytes(data)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_schema(prefix: str = "mt_test") -> Iterator[str]:
    """A URL to a fresh, empty PostgreSQL schema of its own (selected through ``search_path`` in the URL's
    connect options), dropped afterwards. An unreachable server fails the test; it never skips it."""
    import pytest
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.fail(f"PostgreSQL is required for these tests and is not reachable at {POSTGRES_URL}: {exc}")
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@contextmanager
def redis_prefix() -> Iterator[str]:
    """A Redis key prefix of its own on REDIS_URL; its keys are deleted afterwards."""
    import pytest
    import redis

    prefix = f"mt-test-{uuid.uuid4().hex[:12]}:"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is required for these tests and is not reachable at {REDIS_URL}: {exc}")
    try:
        yield prefix
    finally:
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
        client.close()
