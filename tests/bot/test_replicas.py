"""Two real replicas behind one webhook URL: ``moodtunes run --webhook`` subprocesses on their own ports, started
together on an empty PostgreSQL schema (each migrates at start), sharing that schema and one Redis prefix, fed by
the fake Telegram like a load balancer that sends some updates twice or to both replicas (tests/bot/replica_load.py).
Two topologies: each replica analyses its photos itself, or the whole deployment — two replicas sending every photo
through RabbitMQ to two ``moodtunes worker`` processes, one of which is SIGKILLed a third of the way through.

Every photo and every press is answered exactly once, the vote table is exactly what was pressed last, every
update id is recorded once, both replicas did work, their metrics add up, one logs JSON, and both stop cleanly.
The full-size run (500 photos, 50 users, 2,000 presses) is benchmarks/bench_replicas.py.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from moodtunes.bot import callbacks
from tests.bot.replica_load import (
    SECRET,
    WAIT,
    balancer,
    count_rows,
    delivery_counts,
    drive,
    percentile,
    photo_variants,
    replicas,
    stored_votes,
)
from tests.bot.telegram_replies import Replies
from tests.fakes.telegram_server import FakeTelegram
from tests.helpers import BROKER, RESULTS, WORKER_START, Workers, delete_queues, postgres_schema

# (users, photos, presses): the in-process check stays small; the deployment runs the full load.
LOADS = {"in-process": (20, 100, 400), "workers": (50, 500, 2000)}
QUIET = 1.5  # seconds to wait at the end for answers that must not come

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


async def metric_sums(replica_urls: list[str]) -> dict[tuple[str, tuple], float]:
    """Every sample of every replica's /metrics, summed over the replicas."""
    sums: dict[tuple[str, tuple], float] = {}
    async with aiohttp.ClientSession() as http:
        for base in replica_urls:
            async with http.get(f"{base}/metrics") as response:
                body = await response.text()
            for family in text_string_to_metric_families(body):
                for sample in family.samples:
                    key = (sample.name, tuple(sorted(sample.labels.items())))
                    sums[key] = sums.get(key, 0.0) + sample.value
    return sums


def kill_when(fake: FakeTelegram, answers: int, kill) -> asyncio.Task:
    """SIGKILL (``kill``, in a thread) once ``answers`` photo answers have gone out."""
    reached = asyncio.Event()

    def count(call) -> None:
        photo_answer = call.method == "sendMessage" and not call.text.startswith("More ") and any(
            isinstance(callbacks.decode(b["callback_data"]), callbacks.Vote) for b in call.buttons)
        if photo_answer:
            count.seen += 1
            if count.seen >= answers:
                reached.set()

    count.seen = 0
    fake.listen(count)

    async def wait_then_kill() -> None:
        await reached.wait()
        await asyncio.to_thread(kill)

    return asyncio.create_task(wait_then_kill())


@pytest.fixture
def workers(request, tmp_path):
    """Two plain ``moodtunes worker`` processes on a queue of this test's own (none for the in-process topology)."""
    if request.node.callspec.params["topology"] != "workers":
        yield None
        return
    queue = f"moodtunes-test-{uuid.uuid4().hex[:12]}"
    pool = Workers(queue, tmp_path, max_deliveries=3)
    try:
        pool.start("first", hooks=False)
        pool.start("second", hooks=False)
        pool.wait_consuming(2)
        yield pool
    finally:
        pool.stop_all()
        delete_queues(queue)


@pytest.mark.parametrize("topology", ["in-process", "workers"])
async def test_two_replicas_answer_every_update_once(topology, workers, pipeline, astronaut_image, settings,
                                                     redis_keys, tmp_path):
    # ``pipeline`` has built the catalog under settings.data_dir: the replicas read that cached copy.
    users, photo_count, press_count = LOADS[topology]
    photos = photo_variants(astronaut_image)
    via_broker = {} if workers is None else {"BROKER_URL": BROKER, "RESULT_BACKEND_URL": RESULTS,
                                             "WORKER_QUEUE": workers.queue, "PHOTO_JOB_TIMEOUT": str(WORKER_START)}
    with postgres_schema("mt_replicas") as database_url:
        fake = await FakeTelegram(poll_wait=0.3).start()
        try:
            async with replicas(fake, database_url, redis_keys, settings.data_dir, tmp_path,
                                extra_env=[via_broker, {**via_broker, "LOG_FORMAT": "json"}]) as started:
                replies = Replies(fake, WAIT)
                killer = None if workers is None else kill_when(fake, photo_count // 3, lambda: workers.kill("first"))
                fake.route_webhooks(balancer([r.url for r in started]))
                outcome = await drive(fake, replies, photos, users=users, photos_total=photo_count,
                                      presses_total=press_count)
                await fake.expect_no_call("sendMessage", since=len(fake.calls), within=QUIET)
                sums = await metric_sums([r.ops for r in started])
                per_replica = [await metric_sums([r.ops]) for r in started]
            codes = [r.process.returncode for r in started]
        finally:
            await fake.stop()
        if workers is not None:
            await asyncio.wait_for(killer, WORKER_START)  # it did kill mid-run, not after the load
            # Both workers analysed photos: the killed one before its death, the survivor the rest and its held job.
            assert list(workers.procs) == ["second"]
            assert "succeeded" in workers.log("first") and "succeeded" in workers.log("second")
            assert sums[("moodtunes_queue_depth", (("queue", workers.queue),))] == 0

        distinct, posts, statuses = delivery_counts(fake)
        print(f"\n{topology}: {photo_count} photos, {outcome.presses} presses from {users} users on 2 replicas in "
              f"{outcome.seconds:.1f} s; {posts} webhook posts for {distinct} updates; photo p50/p95 "
              f"{percentile(outcome.photo_latency, 50):.2f}/{percentile(outcome.photo_latency, 95):.2f} s, "
              f"press p50/p95 {percentile(outcome.press_latency, 50):.2f}/"
              f"{percentile(outcome.press_latency, 95):.2f} s")

        assert outcome.problems == []
        assert (outcome.photos, outcome.presses) == (photo_count, press_count)
        assert replies.duplicates == [] and replies.refused == []
        assert all(queue.empty() for queue in replies.photo_answers.values())  # no second answer to any photo
        assert statuses == {200: posts} and posts > distinct  # some updates really did arrive twice
        assert stored_votes(database_url) == outcome.expected_votes
        assert count_rows(database_url, "processed_updates") == distinct
        assert count_rows(database_url, "recommendation_events") == photo_count  # More pages an answer, adds none
        assert outcome.more_pages > 0

    # Both replicas did real work; what they dropped as duplicates is exactly the extra posts.
    tracks = ("moodtunes_answers_total", (("kind", "tracks"), ("platform", "telegram")))
    assert all(m.get(tracks, 0) > 0 for m in per_replica)
    assert sums[("moodtunes_duplicate_updates_total", (("platform", "telegram"),))] == posts - distinct
    assert sums[("moodtunes_photo_seconds_count", (("platform", "telegram"),))] == photo_count
    assert codes == [0, 0], [r.log_tail() for r in started]  # SIGTERM: a clean stop

    # The second replica logged JSON lines (LOG_FORMAT=json), one object per line, with no secret in them.
    lines = started[1].log_path.read_text().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert any(r["logger"] == "moodtunes" and r["message"].startswith("ready:") for r in records)
    assert all({"asctime", "level", "logger", "message"} <= set(r) for r in records)
    for replica in started:
        log = replica.log_path.read_text()
        assert fake.token not in log and SECRET not in log
        assert "Traceback" not in log, replica.log_tail(60)
