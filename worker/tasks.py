"""The worker side: the photo task, the model loaded once per worker process, and the dead-letter notices.

Each pool process builds its PhotoAnalyzer when it starts (worker_process_init), before its first job, so a
job never pays for loading the model and a broken model shows at start. Inference uses one thread per process:
capacity comes from processes (``--concurrency``), which do not share an interpreter lock."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from celery import Celery, bootsteps
from celery.signals import worker_process_init
from kombu import Consumer

from moodtunes.core.errors import ImageRejected
from moodtunes.core.pipeline import PhotoAnalyzer
from moodtunes.core.settings import Settings
from moodtunes.worker.app import ANALYZE_TASK, make_celery
from moodtunes.worker.errors import PhotoJobFailed
from moodtunes.worker.queues import dead_letter_notices, kept_dead_letters
from moodtunes.worker.wire import analysis_to_wire, rejection_to_wire

log = logging.getLogger("moodtunes.worker")


class LazyAnalyzer:
    """The process's PhotoAnalyzer, built on first use (after the pool forked: TensorFlow is not fork-safe)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._analyzer: PhotoAnalyzer | None = None

    def get(self) -> PhotoAnalyzer:
        if self._analyzer is None:
            self._analyzer = PhotoAnalyzer.from_settings(self.settings)
            self._analyzer.warm_up(background=False)  # a worker takes jobs only when it can answer any photo
            log.info("worker process %d ready: model %s", os.getpid(), self._analyzer.model_version)
        return self._analyzer


def analyze_photo(analyzer: PhotoAnalyzer, data: bytes) -> dict[str, Any]:
    """One photo job: faces and emotions as plain numbers, or the kind of refusal."""
    started = time.perf_counter()
    try:
        faces = analyzer.analyze(bytes(data))
    except ImageRejected as exc:
        log.info("photo refused (%s): %s", type(exc).__name__, exc)
        return rejection_to_wire(exc)
    return analysis_to_wire(faces, analyzer.model_version, (time.perf_counter() - started) * 1000)


class DeadLetterNotices(bootsteps.ConsumerStep):
    """Runs in each worker's main process: a job RabbitMQ dead-lettered is recorded as failed in the result
    store, so the front end waiting for it answers at once instead of at its timeout."""

    def __init__(self, parent, **kwargs) -> None:
        super().__init__(parent, **kwargs)
        self.app = parent.app

    def get_consumers(self, channel):
        queue = self.app.conf.task_default_queue
        kept_dead_letters(queue)(channel).declare()  # must exist before the first dead letter, or it is dropped
        return [Consumer(channel, queues=[dead_letter_notices(queue)], on_message=self.on_dead_letter,
                         no_ack=False)]

    def on_dead_letter(self, message) -> None:
        headers = message.headers or {}
        task_id = headers.get("id")
        reason = (headers.get("x-death") or [{}])[0].get("reason", "?")  # delivery_limit: it crashed every try
        log.error("photo job %s dead-lettered (%s); the user is told it failed, the job is kept in %s.dead",
                  task_id, reason, self.app.conf.task_default_queue)
        if task_id:
            self.app.backend.mark_as_failure(task_id, PhotoJobFailed("dead-lettered: crashed the workers"))
        message.ack()


def worker_app(settings: Settings) -> Celery:
    """The Celery app of a `moodtunes worker`: the photo task and the dead-letter notices registered."""
    app = make_celery(settings)
    analyzer = LazyAnalyzer(settings)

    @app.task(name=ANALYZE_TASK)
    def analyze_photo_task(data: bytes) -> dict[str, Any]:
        return analyze_photo(analyzer.get(), data)

    @worker_process_init.connect(weak=False)
    def load_model(**_: Any) -> None:
        analyzer.get()

    app.steps["consumer"].add(DeadLetterNotices)
    return app


def run_worker(settings: Settings, *, concurrency: int, loglevel: str, hostname: str | None) -> None:
    """Start a Celery worker on the photo queue (blocks until it is stopped)."""
    # One inference thread per process; set before any pool process imports TensorFlow.
    for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(name, "1")
    settings = settings.model_copy(update={"inference_threads": 1})
    app = worker_app(settings)
    argv = ["worker", f"--concurrency={concurrency}", f"--loglevel={loglevel}", "--pool=prefork",
            f"--queues={settings.worker_queue}",
            # Photo workers need no cluster chatter: no gossip or mingle at start, no event heartbeats.
            "--without-gossip", "--without-mingle", "--without-heartbeat"]
    if hostname:
        argv.append(f"--hostname={hostname}")
    app.worker_main(argv)
