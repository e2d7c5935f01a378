"""The Celery application both sides build from the settings: the front end sends photo jobs with it, the
``moodtunes worker`` processes run them. Every reliability choice is made here, once (docs/deploy.md, Workers).

- Photos travel as msgpack binary: bytes stay bytes (JSON would need base64, a third bigger) and, unlike
  pickle, decoding a message cannot run code. Workers accept nothing else.
- Jobs are acknowledged late, after the result is stored; a worker process that dies mid-job gives its message
  back (reject_on_worker_lost) and a worker whose connection drops gets it taken back by RabbitMQ. Either way
  another process runs it: the task is a pure function of the photo, so a second run is harmless.
- Each worker process holds one job at a time (prefetch 1): a slow photo never keeps others waiting behind it
  while another process is idle.
- Results go to Redis: any front-end thread fetches its result by task id, and the dead-letter notice can
  record a failure for a job whose sender it does not know (RPC results could only go back on the sender's own
  reply queue).
"""

from __future__ import annotations

from celery import Celery

from moodtunes.core.settings import Settings
from moodtunes.worker.queues import photo_queue

ANALYZE_TASK = "moodtunes.analyze_photo"


def make_celery(settings: Settings) -> Celery:
    """The Celery app for BROKER_URL / RESULT_BACKEND_URL; raises ValueError if BROKER_URL is unset."""
    broker_url = settings.broker_url.get_secret_value()
    if not broker_url:
        raise ValueError("BROKER_URL is not set: photo jobs need a broker (e.g. amqp://guest:guest@127.0.0.1:5672//)")
    timeout = settings.broker_timeout
    app = Celery("moodtunes", set_as_current=False)
    app.conf.update(
        broker_url=broker_url,
        result_backend=settings.result_backend_url.get_secret_value(),
        task_serializer="msgpack",
        result_serializer="msgpack",
        accept_content=["msgpack"],
        result_accept_content=["msgpack"],
        task_queues=[photo_queue(settings.worker_queue, settings.photo_job_max_deliveries)],
        task_default_queue=settings.worker_queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # A job that raised is rejected without requeue: RabbitMQ dead-letters it for inspection.
        task_acks_on_failure_or_timeout=False,
        # Nobody waits for an answer after the front end's timeout; a job still running then is stopped.
        task_time_limit=settings.photo_job_timeout,
        worker_prefetch_multiplier=1,
        # A pool process loads the model before it reports ready (several seconds on a busy machine); Celery's
        # default of 4 s would kill it as hung, again and again.
        worker_proc_alive_timeout=120.0,
        # Publishing: bounded connect, broker confirms, and one immediate reconnect (a pooled connection may have
        # died with a broker restart); then the front end answers "busy" instead of hanging.
        broker_connection_timeout=timeout,
        broker_transport_options={"confirm_publish": True},
        task_publish_retry=True,
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0, "interval_max": 0},
        redis_socket_connect_timeout=timeout,
        redis_socket_timeout=max(timeout, 5.0),
        redis_retry_on_timeout=False,
        result_expires=max(int(settings.photo_job_timeout) * 4, 60),
        worker_cancel_long_running_tasks_on_connection_loss=False,
        broker_connection_retry_on_startup=True,
    )
    return app
