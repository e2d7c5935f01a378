"""Real RabbitMQ (127.0.0.1:5672) and Redis (127.0.0.1:6379), real `moodtunes worker` subprocesses. Every test
module gets its own queue names, so concurrent test runs on the same broker never share a job."""

from __future__ import annotations

import uuid

import pytest

from moodtunes.bot.service import ChatService
from moodtunes.worker.client import PhotoJobs
from tests.helpers import WORKER_START, Workers, delete_queues, job_settings


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
