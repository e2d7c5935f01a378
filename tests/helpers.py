"""Helpers shared by the test suites (fixtures live in the conftest.py files): photo encoding, FER faces, log
capture, a migrated SQLite store, decompression-bomb PNG and HEIC files, HEIC and AVIF encoding, worker
subprocesses on RabbitMQ queues of their own, and offline virtualenvs that borrow this one's dependencies."""

from __future__ import annotations

import io
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import sysconfig
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

# The real services of the test suite, on loopback (override for CI elsewhere).
POSTGRES_URL = os.environ.get("MOODTUNES_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("MOODTUNES_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
FER_ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "fer2013"
# One trained network kept in the checkout (run 4, float32): the shipped model is an ensemble of two, which serves and
# teaches but cannot be recovered as one network, so it is not re-exported, trained from or averaged again.
SINGLE_MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "candidates" / "run4"
# The tiny FER folder of the training tests (tests/training/conftest.py): faces per class in each split.
TINY_FER_TRAIN_PER_CLASS, TINY_FER_VAL_PER_CLASS = 20, 5


def ensemble_refusal(folder: Path) -> str:
    """The one line `train export`, `train ensemble --member` and `--init-from` answer an ensemble's folder with."""
    return (f"error: {folder}: its metadata.json has no hyperparameters; only single trained models (not ensembles) "
            "can be recovered")


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


# --- inference workers (tests/worker) ---------------------------------------------------------------
REPO = Path(__file__).resolve().parent.parent
BROKER = "amqp://guest:guest@127.0.0.1:5672//"
RESULTS = "redis://127.0.0.1:6379/0"
WORKER_START = 120  # seconds for a worker to connect and its pool process to load the model, on a busy machine
# The worker command with the test hooks (tests/worker/hooks.py) loaded first.
HOOKED_WORKER = [sys.executable, "-c", "import tests.worker.hooks; from moodtunes.cli.main import app; app()"]
PLAIN_WORKER = [str(Path(sys.executable).parent / "moodtunes")]  # the installed console script


def wait_until(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.1):
    """Poll ``condition`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def queue_depth(queue: str) -> tuple[int, int]:
    """(messages ready, consumers) of a queue; (0, 0) before anyone declared it."""
    from amqp.exceptions import NotFound
    from kombu import Connection

    with Connection(BROKER, connect_timeout=5) as conn:
        try:
            _, messages, consumers = conn.default_channel.queue_declare(queue, passive=True)
        except NotFound:
            return 0, 0
        return messages, consumers


def delete_queues(queue: str) -> None:
    from kombu import Connection

    with Connection(BROKER, connect_timeout=5) as conn:
        channel = conn.default_channel
        for name in (queue, f"{queue}.dead", f"{queue}.dead.notify"):
            channel.queue_delete(name)
        for name in (queue, f"{queue}.dead"):
            channel.exchange_delete(name)


class Workers:
    """Starts worker subprocesses on one queue; ``kill`` SIGKILLs one (its whole process group)."""

    def __init__(self, queue: str, logs: Path, max_deliveries: int) -> None:
        self.queue, self.logs, self.max_deliveries = queue, logs, max_deliveries
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, *, hooks: bool = True, env: dict[str, str] | None = None) -> subprocess.Popen:
        command = [*(HOOKED_WORKER if hooks else PLAIN_WORKER), "worker", "--concurrency", "1",
                   "--hostname", f"{name}-{self.queue[-12:]}@%h", "--loglevel", "INFO"]
        child_env = {**os.environ, "BROKER_URL": BROKER, "RESULT_BACKEND_URL": RESULTS, "WORKER_QUEUE": self.queue,
                     "PHOTO_JOB_MAX_DELIVERIES": str(self.max_deliveries), "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
        log = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(command, cwd=REPO, env=child_env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def wait_consuming(self, count: int) -> None:
        wait_until(lambda: queue_depth(self.queue)[1] >= count, WORKER_START, f"{count} worker(s) on {self.queue}")

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self.procs.clear()


def job_settings(queue: str, *, broker: str = BROKER, **overrides):
    from moodtunes.core.settings import Settings

    return Settings(_env_file=None, broker_url=broker, result_backend_url=RESULTS, worker_queue=queue, **overrides)


# --- offline installs (tests/scripts, tests/test_packaging.py) ---------------------------------------
def package_folders() -> list[str]:
    """The checkout's top-level folders that install under ``moodtunes`` (pyproject.toml's package-dir)."""
    import tomllib

    mapping = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    return sorted({folder.split("/")[0] for folder in mapping.values()})


def offline_env(**extra: str) -> dict[str, str]:
    """This process's environment with pip cut off from every package index (and no pip config file), and no bot
    tokens: what a start without network sees."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and not k.endswith("_TOKEN")}
    env.update(PIP_NO_INDEX="1", PIP_INDEX_URL=f"http://127.0.0.1:{free_port()}/simple", PIP_CONFIG_FILE=os.devnull,
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_BUILD_ISOLATION="0")  # "0": pip's spelling of "no isolation"
    env.update(extra)
    return env


def borrowing_venv(folder: Path) -> Path:
    """A new virtualenv at ``folder`` that sees this one's installed packages (TensorFlow and all) through a
    ``.pth`` line, so installing MoodTunes into it needs no download. Its own site-packages comes first, and
    ``.pth`` files of the borrowed folder are not run, so this checkout's editable install stays out of it.
    Returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    python = folder / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True, timeout=60).stdout.strip()
    Path(purelib, "borrowed-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python
