"""The front end's side: send a photo to the workers and wait for its analysis without blocking the event loop.

Each job is sent and awaited on one thread of a small pool (Celery keeps one result-store connection per
thread); the event loop only awaits that thread. Every wait is bounded: an unreachable broker or result store
fails within BROKER_TIMEOUT, and a job nobody answers fails at PHOTO_JOB_TIMEOUT (the job expires then too, so
a backlog never spends a worker on a photo whose sender was already told to try again)."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from celery import states
from celery.exceptions import TimeoutError as ResultTimeout
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from moodtunes.core.settings import Settings
from moodtunes.worker.app import ANALYZE_TASK, make_celery
from moodtunes.worker.errors import PhotoJobFailed, WorkersUnavailable
from moodtunes.worker.wire import PhotoAnalysis, analysis_from_wire

log = logging.getLogger("moodtunes.jobs")

# Photos awaited at once per front end; more wait for a free thread (each holds one result-store connection).
WAITING_THREADS = 32
UNREACHABLE = (OperationalError, RedisError, OSError)


class PhotoJobs:
    """Photo analysis by the inference workers (BROKER_URL)."""

    def __init__(self, settings: Settings) -> None:
        self.app = make_celery(settings)
        self.timeout = settings.photo_job_timeout
        self.broker_timeout = settings.broker_timeout
        self.max_bytes = settings.max_image_bytes
        self.queue = settings.worker_queue
        self._threads = ThreadPoolExecutor(max_workers=WAITING_THREADS, thread_name_prefix="moodtunes-job")

    async def analyze(self, data: bytes) -> PhotoAnalysis:
        """Faces and emotions from a worker. Raises ImageRejected (the worker refused the photo),
        WorkersUnavailable (try again later) or PhotoJobFailed (the workers gave up on this photo)."""
        return await asyncio.get_running_loop().run_in_executor(self._threads, self.analyze_blocking, data)

    def analyze_blocking(self, data: bytes) -> PhotoAnalysis:
        if len(data) > self.max_bytes:  # the caller checks too; a photo over the cap never reaches the broker
            raise ValueError(f"{len(data)} bytes is over MAX_IMAGE_BYTES")
        try:
            # argsrepr: Celery would otherwise put the start of the photo's bytes in the message headers and logs.
            result = self.app.send_task(ANALYZE_TASK, args=(bytes(data),), argsrepr=f"(<photo, {len(data)} bytes>,)",
                                        expires=self.timeout, timeout=self.broker_timeout,
                                        confirm_timeout=self.broker_timeout)
        except UNREACHABLE as exc:
            log.error("photo job not sent, broker or result store unreachable: %s", exc)
            raise WorkersUnavailable(str(exc)) from exc
        try:
            payload = result.get(timeout=self.timeout, propagate=False)
        except ResultTimeout as exc:
            log.error("photo job %s: no worker answered within %.0f s", result.id, self.timeout)
            raise WorkersUnavailable(f"job {result.id} timed out") from exc
        except UNREACHABLE as exc:
            log.error("photo job %s: result store unreachable: %s", result.id, exc)
            raise WorkersUnavailable(str(exc)) from exc
        if result.state != states.SUCCESS:
            log.error("photo job %s failed on the workers (%s): %s", result.id, result.state, payload)
            raise PhotoJobFailed(f"job {result.id}: {result.state}")
        result.forget()  # read once; do not keep it in Redis until it expires
        return analysis_from_wire(payload)

    def queue_depth(self) -> int:
        """Photo jobs waiting in the broker's queue (a passive declare: it creates nothing)."""
        with self.app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, timeout=self.broker_timeout)
            _, waiting, _ = conn.default_channel.queue_declare(self.queue, passive=True)
        return waiting

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
        self.app.close()
