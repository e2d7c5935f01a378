"""Photos through RabbitMQ to real worker processes: the same answers as in one process, nothing lost when a
worker is killed, a photo that crashes workers dead-lettered with a friendly answer, a broker outage answered
with "busy" quickly and recovered from."""

from __future__ import annotations

import asyncio
import time
import uuid

import msgpack
import pytest
from kombu import Connection

from moodtunes.bot.service import AnswerKind, ChatService
from moodtunes.core import messages
from moodtunes.core.errors import ImageTooLarge
from moodtunes.worker.client import PhotoJobs
from tests.fakes.tcp_proxy import TcpProxy
from tests.helpers import BROKER, WORKER_START, Workers, delete_queues, job_settings, queue_depth, wait_until
from tests.worker.hooks import CRASH_MARKER


async def test_photo_through_workers_answers_like_one_process(remote_service, service, astronaut_jpeg, coffee_jpeg):
    remote = await remote_service.handle_photo_async("telegram", "ada", astronaut_jpeg)
    local = service.handle_photo("telegram", "ada", astronaut_jpeg)
    assert remote.kind == local.kind == AnswerKind.TRACKS
    assert remote.title == local.title  # same emotion and confidence, e.g. "😊 You look happy (88% sure)."
    assert len(remote.tracks) == 5 and remote.event_id is not None
    stored = remote_service.store.get_event(remote.event_id)
    assert stored.model_version == remote_service.pipeline.model_version  # the worker's model, same files here

    no_face = await remote_service.handle_photo_async("telegram", "ada", coffee_jpeg)
    assert (no_face.kind, no_face.text) == (AnswerKind.NO_FACE, messages.NO_FACE)
    refused = await remote_service.handle_photo_async("telegram", "ada", b"GIF89a but not really")
    assert (refused.kind, refused.text) == (AnswerKind.REJECTED, service.handle_photo("t", "ada", b"GIF89a but not "
                                                                                       b"really").text)


async def test_oversized_photo_is_refused_before_the_broker(remote_service, pipeline):
    too_big = b"\xff\xd8" + bytes(pipeline.settings.max_image_bytes)
    answer = await remote_service.handle_photo_async("discord", "bob", too_big)
    assert (answer.kind, answer.text) == (AnswerKind.REJECTED, messages.friendly_rejection(ImageTooLarge("")))


async def test_photo_that_crashes_workers_is_dead_lettered_with_a_friendly_answer(remote_service, module_workers,
                                                                                  module_queue, astronaut_jpeg):
    poison = CRASH_MARKER + uuid.uuid4().bytes
    started = time.monotonic()
    answer = await remote_service.handle_photo_async("telegram", "carl", poison)
    # PHOTO_FAILED comes from the dead-letter notice; a timed-out wait would have said BUSY.
    assert (answer.kind, answer.text) == (AnswerKind.REJECTED, messages.PHOTO_FAILED)
    assert time.monotonic() - started < WORKER_START
    with Connection(BROKER, connect_timeout=5) as conn:
        kept = conn.default_channel.basic_get(f"{module_queue}.dead", no_ack=True)
    assert kept is not None, "the job is kept in the dead-letter queue for an admin"
    (photo,), _, _ = msgpack.unpackb(kept.body, raw=False)
    assert photo == poison
    death = kept.headers["x-death"][0]
    assert death["queue"] == module_queue and death["reason"] == "delivery_limit"
    crashes = module_workers.log("photos").count("exited with 'exitcode 70'")
    assert crashes == module_workers.max_deliveries, "each delivery crashed a worker process, then none more"
    # The worker survived its crashed processes: the next photo is answered.
    after = await remote_service.handle_photo_async("telegram", "carl", astronaut_jpeg)
    assert after.kind == AnswerKind.TRACKS


async def test_broker_outage_answers_busy_quickly_and_recovers(pipeline, store, module_queue, module_workers,
                                                               astronaut_jpeg):
    proxy = TcpProxy(("127.0.0.1", 5672)).start()
    jobs = PhotoJobs(job_settings(module_queue, broker=f"amqp://guest:guest@127.0.0.1:{proxy.port}//",
                                  photo_job_max_deliveries=2, photo_job_timeout=WORKER_START, broker_timeout=1.0))
    service = ChatService(pipeline, store, photos_per_minute=1000, jobs=jobs)
    try:
        assert (await service.handle_photo_async("telegram", "dora", astronaut_jpeg)).kind == AnswerKind.TRACKS
        proxy.stop()
        started = time.monotonic()
        busy = await service.handle_photo_async("telegram", "dora", astronaut_jpeg)
        assert (busy.kind, busy.text) == (AnswerKind.INFO, messages.BUSY)
        assert time.monotonic() - started < 5
        proxy.start()  # the same port again
        back = await service.handle_photo_async("telegram", "dora", astronaut_jpeg)
        assert back.kind == AnswerKind.TRACKS
    finally:
        jobs.close()
        proxy.stop()


@pytest.mark.timeout(400)
async def test_worker_killed_mid_job_loses_nothing(pipeline, store, tmp_path, astronaut_jpeg):
    queue = f"moodtunes-test-{uuid.uuid4().hex[:12]}"
    workers = Workers(queue, tmp_path, max_deliveries=3)
    jobs = PhotoJobs(job_settings(queue, photo_job_timeout=WORKER_START))
    service = ChatService(pipeline, store, photos_per_minute=1000, jobs=jobs)
    held = tmp_path / "held"
    held.mkdir()
    try:
        workers.start("doomed", env={"MOODTUNES_TEST_HOLD_DIR": str(held)})  # holds its first job until killed
        workers.start("survivor", hooks=False)  # the plain `moodtunes worker` command
        workers.wait_consuming(2)
        users = [f"user{i}" for i in range(12)]
        answers = asyncio.gather(*(service.handle_photo_async("telegram", u, astronaut_jpeg) for u in users))
        held_job = await asyncio.to_thread(wait_until, lambda: list(held.iterdir()), WORKER_START,
                                           "the doomed worker to hold a job")
        workers.kill("doomed")
        results = await answers
        assert [a.kind for a in results] == [AnswerKind.TRACKS] * len(users), [a.text for a in results]
        assert {a.title for a in results} == {service.handle_photo("console", "ref", astronaut_jpeg).title}
        for user in users:  # each photo answered (and stored) exactly once
            assert len(store.history(store.find_user_id("telegram", user), 10)) == 1
        assert held_job[0].stem in workers.log("survivor"), "the held job was redelivered to the survivor"
        assert queue_depth(queue)[0] == 0
    finally:
        jobs.close()
        workers.stop_all()
        delete_queues(queue)
