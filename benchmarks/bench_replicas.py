"""Replicas end to end: N real ``moodtunes run --webhook`` processes sharing one PostgreSQL schema and one Redis
prefix, fed by the fake Telegram like a load balancer that sends some updates twice or to two replicas.

    python -m benchmarks.bench_replicas [--replicas 2] [--users 50] [--photos 500] [--presses 2000]

The same harness and checks as tests/bot/test_replicas.py (tests/bot/replica_load.py), at any size: every update
answered exactly once, the vote table exact. Prints the throughput and p50/p95 latencies. Needs PostgreSQL and Redis
on loopback (MOODTUNES_TEST_POSTGRES_URL, MOODTUNES_TEST_REDIS_URL) and the test extras (scikit-image).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from PIL import Image

from moodtunes.core.catalog_build import served_catalog
from moodtunes.core.settings import Settings
from tests.bot.replica_load import (
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
from tests.helpers import postgres_schema, redis_prefix


async def run(args: argparse.Namespace, data_dir: Path, log_dir: Path) -> None:
    from skimage import data

    photos = photo_variants(Image.fromarray(data.astronaut()))
    with postgres_schema("mt_bench") as database_url, redis_prefix() as prefix:
        fake = await FakeTelegram(poll_wait=0.3).start()
        try:
            started_at = time.monotonic()
            async with replicas(fake, database_url, prefix, data_dir, log_dir, count=args.replicas) as started:
                ready = time.monotonic() - started_at
                replies = Replies(fake, WAIT)
                fake.route_webhooks(balancer([r.url for r in started]))
                outcome = await drive(fake, replies, photos, users=args.users, photos_total=args.photos,
                                      presses_total=args.presses)
        finally:
            await fake.stop()
        distinct, posts, _ = delivery_counts(fake)
        exact = (stored_votes(database_url) == outcome.expected_votes and not replies.duplicates
                 and count_rows(database_url, "processed_updates") == distinct and not outcome.problems)
    rows = [
        ("replicas", f"{args.replicas}"),
        ("start (all ready, migrated together)", f"{ready:.1f} s"),
        ("photos / users / presses", f"{outcome.photos} / {args.users} / {outcome.presses}"),
        ("webhook posts / distinct updates", f"{posts} / {distinct}"),
        ("wall time", f"{outcome.seconds:.1f} s"),
        ("photos per second", f"{outcome.photos / outcome.seconds:.2f}"),
        ("photo reply p50 / p95", f"{percentile(outcome.photo_latency, 50):.2f} / "
                                  f"{percentile(outcome.photo_latency, 95):.2f} s"),
        ("press reply p50 / p95", f"{percentile(outcome.press_latency, 50):.2f} / "
                                  f"{percentile(outcome.press_latency, 95):.2f} s"),
        ("every update answered once, votes exact", "yes" if exact else f"NO: {outcome.problems[:3]}"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--photos", type=int, default=500)
    parser.add_argument("--presses", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp:
        data_dir = Path(tmp) / "data"
        served_catalog(Settings(_env_file=None, data_dir=data_dir))  # built once here, read by every replica
        asyncio.run(run(args, data_dir, Path(tmp)))


if __name__ == "__main__":
    main()
