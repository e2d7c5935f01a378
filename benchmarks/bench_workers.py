"""Photos through inference workers vs in one process: throughput, reply latency and the broker's overhead.

    python -m benchmarks.bench_workers [--photos 60] [--sequential 30] [--side 1280]

Needs RabbitMQ on 127.0.0.1:5672 and Redis on 127.0.0.1:6379 (BROKER_URL / RESULT_BACKEND_URL to override),
and the test extras (scikit-image). Each row answers real photos (bench_pipeline's astronaut variants) through
the real conversation service with a fresh SQLite file, so a reply includes the recommendation and the stored
answer, exactly as a chat front end gets it:

- in one process: ChatService without BROKER_URL (today's single-process bot);
- through the broker with 1 and 2 `moodtunes worker` processes (concurrency 1 each) on a queue of its own.

"burst": all photos sent at once, photos/s = photos / wall time, latency = from sending to the answer (queueing
included). "one at a time": one photo in flight, so latency is the service time; the broker's overhead per
photo is its p50 minus the in-process p50. Prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from kombu import Connection
from pydantic import SecretStr

from benchmarks.bench_pipeline import percentiles, real_photos
from moodtunes.bot.service import AnswerKind, ChatService
from moodtunes.core.pipeline import Pipeline
from moodtunes.core.settings import Settings
from moodtunes.db.store import Store
from moodtunes.worker.client import PhotoJobs

BROKER = os.environ.get("BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
RESULTS = os.environ.get("RESULT_BACKEND_URL", "redis://127.0.0.1:6379/0")
MOODTUNES = str(Path(sys.executable).parent / "moodtunes")


async def timed(service: ChatService, user: str, photo: bytes) -> float:
    started = time.perf_counter()
    answer = await service.handle_photo_async("telegram", user, photo)
    if answer.kind != AnswerKind.TRACKS:
        raise RuntimeError(f"unexpected answer: {answer.text[:120]}")
    return (time.perf_counter() - started) * 1000


async def burst(service: ChatService, photos: list[bytes]) -> tuple[float, list[float]]:
    started = time.perf_counter()
    latencies = await asyncio.gather(*(timed(service, f"u{i % 20}", p) for i, p in enumerate(photos)))
    return len(photos) / (time.perf_counter() - started), list(latencies)


async def transport_overhead(jobs: PhotoJobs, photos: list[bytes]) -> list[float]:
    """Per photo, one at a time: the job's round trip seen by the front end minus the worker's own time on it."""
    overheads = []
    for photo in photos:
        started = time.perf_counter()
        analysis = await jobs.analyze(photo)
        overheads.append((time.perf_counter() - started) * 1000 - analysis.analyze_ms)
    return overheads


async def one_at_a_time(service: ChatService, photos: list[bytes]) -> list[float]:
    return [await timed(service, f"s{i % 20}", p) for i, p in enumerate(photos)]


def consumers(queue: str) -> int:
    with Connection(BROKER, connect_timeout=5) as conn:
        try:
            return conn.default_channel.queue_declare(queue, passive=True)[2]
        except Exception:  # not declared yet
            return 0


def start_workers(count: int, queue: str, logs: Path) -> list[subprocess.Popen]:
    env = {**os.environ, "BROKER_URL": BROKER, "RESULT_BACKEND_URL": RESULTS, "WORKER_QUEUE": queue}
    procs = [subprocess.Popen([MOODTUNES, "worker", "--concurrency", "1", "--hostname", f"bench{i}-{queue[-8:]}@%h",
                               "--loglevel", "WARNING"], env=env, stdout=(logs / f"w{i}.log").open("wb"),
                              stderr=subprocess.STDOUT, start_new_session=True) for i in range(count)]
    deadline = time.monotonic() + 180
    while consumers(queue) < count:
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            stop_workers(procs, queue)
            raise RuntimeError(f"workers did not start, see {logs}")
        time.sleep(0.2)
    return procs


def stop_workers(procs: list[subprocess.Popen], queue: str) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        proc.wait(timeout=60)
    with Connection(BROKER, connect_timeout=5) as conn:
        for name in (queue, f"{queue}.dead", f"{queue}.dead.notify"):
            conn.default_channel.queue_delete(name)
        for name in (queue, f"{queue}.dead"):
            conn.default_channel.exchange_delete(name)


def row(name: str, rate: float, burst_ms: list[float], single_ms: list[float]) -> tuple[str, float, float, float,
                                                                                        float, float]:
    return (name, rate, *percentiles(burst_ms), *percentiles(single_ms))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=60, help="photos in each burst")
    parser.add_argument("--sequential", type=int, default=30, help="photos sent one at a time")
    parser.add_argument("--side", type=int, default=1280, help="photo side in pixels")
    args = parser.parse_args()

    photos, singles = real_photos(args.photos, args.side), real_photos(args.sequential, args.side)
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        folder = Path(tmp)
        settings = Settings(_env_file=None, data_dir=folder, user_id_salt="bench-salt")
        pipeline = Pipeline.from_settings(settings)
        pipeline.warm_up(background=False)
        store = Store(f"sqlite:///{folder / 'moodtunes.sqlite3'}", salt="bench-salt")
        store.upgrade()
        rows = []
        local = ChatService(pipeline, store, photos_per_minute=1_000_000)
        asyncio.run(one_at_a_time(local, singles[:3]))  # warm caches
        single = asyncio.run(one_at_a_time(local, singles))
        rate, latencies = asyncio.run(burst(local, photos))
        rows.append(row("in one process", rate, latencies, single))
        overheads = {}
        for count in (1, 2):
            queue = f"moodtunes-bench-{uuid.uuid4().hex[:8]}"
            procs = start_workers(count, queue, Path(tempfile.mkdtemp(prefix="bench-worker-logs-")))
            jobs = PhotoJobs(settings.model_copy(update={
                "broker_url": SecretStr(BROKER), "result_backend_url": SecretStr(RESULTS), "worker_queue": queue}))
            service = ChatService(pipeline, store, photos_per_minute=1_000_000, jobs=jobs)
            try:
                asyncio.run(burst(service, singles[: 4 * count]))  # every worker process has loaded its model
                single = asyncio.run(one_at_a_time(service, singles))
                overheads[count] = asyncio.run(transport_overhead(jobs, singles))
                rate, latencies = asyncio.run(burst(service, photos))
            finally:
                jobs.close()
                stop_workers(procs, queue)
            rows.append(row(f"broker, {count} worker{'s' * (count > 1)}", rate, latencies, single))

    load = os.getloadavg()
    print(f"{args.photos} photos per burst, {args.sequential} one at a time, {args.side} px JPEG; "
          f"{os.cpu_count()} CPU cores, load average {load[0]:.1f} at the end\n")
    print(f"{'':<20} {'photos/s':>9} {'burst p50 ms':>13} {'burst p95 ms':>13} {'single p50 ms':>14} "
          f"{'single p95 ms':>14}")
    for name, rate, b50, b95, s50, s95 in rows:
        print(f"{name:<20} {rate:>9.1f} {b50:>13.0f} {b95:>13.0f} {s50:>14.1f} {s95:>14.1f}")
    print("\nbroker overhead per photo, one at a time (round trip at the front end - the worker's own time):")
    for count, values in overheads.items():
        p50, p95 = percentiles(values)
        print(f"  {count} worker{'s' * (count > 1)}: p50 {p50:.1f} ms, p95 {p95:.1f} ms")


if __name__ == "__main__":
    main()
