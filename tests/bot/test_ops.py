"""The operations endpoint (bot.ops) over HTTP on loopback: /metrics moves after a real photo answer through the
Telegram adapter, /healthz reports the database, the broker and the model, and says when one is down."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from moodtunes.bot.ops import serve_ops
from moodtunes.bot.service import ChatService
from moodtunes.core import messages
from moodtunes.core.settings import Settings
from moodtunes.db.store import Store
from moodtunes.worker.client import PhotoJobs
from tests.bot.telegram_flows import WAIT, send_photo
from tests.helpers import delete_queues, free_port, job_settings, queue_depth, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="module")

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


@asynccontextmanager
async def ops_endpoint(service: ChatService, tmp_path, **settings) -> AsyncIterator[str]:
    """serve_ops running on a free port; yields its base URL."""
    port = free_port()
    config = Settings(_env_file=None, data_dir=tmp_path, user_id_salt="test-salt", metrics_port=port, **settings)
    stop = asyncio.Event()
    task = asyncio.create_task(serve_ops(service, config, stop))
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        for _ in range(200):  # until it listens (or the task died)
            if task.done():
                task.result()
            try:
                async with http.get(f"{base}/healthz"):
                    break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
    try:
        yield base
    finally:
        stop.set()
        await asyncio.wait_for(task, WAIT)


async def scrape(base: str) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics as {(name, sorted labels): value}."""
    async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as response:
        assert response.status == 200 and response.content_type == "text/plain"
        body = await response.text()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


async def healthz(base: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz") as response:
        return response.status, await response.json()


async def test_metrics_move_after_a_real_photo_answer(tg, tg_service, astronaut_jpeg, tmp_path):
    async with ops_endpoint(tg_service, tmp_path) as base:
        before = await scrape(base)
        reply = await send_photo(tg, 4401, astronaut_jpeg)
        assert "Mood:" in reply.text
        # A photo Telegram cannot serve: the handler fails, the error handler apologises and counts it.
        missing = {"file_id": "NO-SUCH-FILE-4402", "file_unique_id": "x", "width": 9, "height": 9, "file_size": 99}
        tg.push_update({"message": {"message_id": 1, "date": 0, "from": tg.user(4402),
                                    "chat": {"id": 4402, "type": "private"}, "photo": [missing]}})
        assert (await tg.next_reply(4402, timeout=WAIT)).text == messages.SOMETHING_WENT_WRONG
        after = await scrape(base)

    def moved(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert moved("moodtunes_answers_total", platform="telegram", kind="tracks") == 1
    assert moved("moodtunes_photo_seconds_count", platform="telegram") == 1
    assert moved("moodtunes_photo_seconds_sum", platform="telegram") > 0
    for stage in ("decode", "detect_align", "classify", "recommend"):
        assert moved("moodtunes_stage_seconds_count", stage=stage) == 1, stage
        assert moved("moodtunes_stage_seconds_bucket", stage=stage, le="+Inf") == 1, stage
    assert moved("moodtunes_errors_total", where="telegram_handler") == 1


async def test_healthz_reports_database_model_and_broker(tg_service, tmp_path):
    async with ops_endpoint(tg_service, tmp_path) as base:
        assert await healthz(base) == (200, {"status": "ok", "checks": {"database": "ok", "model": "ok"}})
    async with ops_endpoint(tg_service, tmp_path, broker_url=RABBITMQ_URL) as base:
        assert await healthz(base) == (200, {"status": "ok", "checks": {"database": "ok", "model": "ok",
                                                                         "broker": "ok"}})
    closed = free_port()
    async with ops_endpoint(tg_service, tmp_path, broker_url=f"amqp://guest:secret@127.0.0.1:{closed}//") as base:
        status, report = await healthz(base)
    assert status == 503 and report["status"] == "fail"
    assert report["checks"]["broker"].startswith("unreachable") and "secret" not in str(report)


async def test_healthz_reports_the_database_down(pipeline, tmp_path):
    # A PostgreSQL URL where nothing listens: the store is built (lazily) but every round trip fails.
    down = Store(f"postgresql+psycopg://postgres:hunter2@127.0.0.1:{free_port()}/test", salt="test-salt")
    service = ChatService(pipeline, down)
    try:
        async with ops_endpoint(service, tmp_path) as base:
            status, report = await healthz(base)
    finally:
        down.close()
    assert status == 503
    assert report == {"status": "fail", "checks": {"database": "unreachable", "model": "ok"}}


async def test_metrics_report_the_photo_jobs_waiting_in_the_broker(pipeline, store, tmp_path, astronaut_jpeg):
    """No worker listens: three photos wait in RabbitMQ, and /metrics reads that depth off the broker while they
    do; when their wait runs out the senders hear "busy" (and the jobs expire)."""
    queue = f"moodtunes-test-{uuid.uuid4().hex[:12]}"
    jobs = PhotoJobs(job_settings(queue, photo_job_timeout=8.0))
    service = ChatService(pipeline, store, photos_per_minute=1000, jobs=jobs)
    try:
        answers = asyncio.gather(*(service.handle_photo_async("telegram", f"u{i}", astronaut_jpeg)
                                   for i in range(3)))
        await asyncio.to_thread(wait_until, lambda: queue_depth(queue)[0] == 3, 6.0, "three queued photo jobs")
        async with ops_endpoint(service, tmp_path) as base:
            assert (await scrape(base))[("moodtunes_queue_depth", (("queue", queue),))] == 3
        assert [a.text for a in await answers] == [messages.BUSY] * 3
    finally:
        jobs.close()
        delete_queues(queue)
