"""Real RabbitMQ (127.0.0.1:5672) and Redis (127.0.0.1:6379), real `moodtunes worker` subprocesses. Every test
module gets its own queue names, so concurrent test runs on the same broker never share a job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from amqp.exceptions import NotFound
from kombu import Connection

from moodtunes.bot.service import ChatService
from moodtunes.core.settings import Settings
from moodtunes.worker.client import PhotoJobs

REPO = Path(__file__).resolve().parents[2]
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
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def queue_depth(queue: str) -> tuple[int, int]:
    """(messages ready, consumers) of a queue; (0, 0) before anyone declared it."""
    with Connection(BROKER, connect_timeout=5) as conn:
        try:
            _, messages, consumers = conn.default_channel.queue_declare(queue, passive=True)
        except NotFound:
            return 0, 0
        return messages, consumers


def delete_queues(queue: str) -> None:
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


def job_settings(queue: str, *, broker: str = BROKER, **overrides) -> Settings:
    return Settings(_env_file=None, broker_url=broker, result_backend_url=RESULTS, worker_queue=queue, **overrides)


@pytest.fixture(scope="module")
def module_queue():
    queue = f"moodtunes-test-{uuid.uuid4().hex[:12]}"
    yield queue
    delete_queues(queue)


@pytest.fixture(scope="module")
def module_workers(module_queue, tmp_path_factory):
    """One hooked worker (two tries before a job is dead-lettered) for the module's tests."""
    workers = Workers(module_queue, tmp_path_factory.mktemp("worker-logs"), max_deliveries=2)
    workers.start("photos")
    try:
        workers.wait_consuming(1)
        yield workers
    finally:
        workers.stop_all()


@pytest.fixture
def remote_service(pipeline, store, module_queue, module_workers):
    """A conversation service whose photos go to the module's worker."""
    jobs = PhotoJobs(job_settings(module_queue, photo_job_max_deliveries=2, photo_job_timeout=WORKER_START))
    yield ChatService(pipeline, store, photos_per_minute=1000, jobs=jobs)
    jobs.close()
