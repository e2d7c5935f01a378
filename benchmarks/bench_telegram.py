"""Telegram end to end: replies per second and reply latency for a burst of photos, over HTTP on loopback.

    python -m benchmarks.bench_telegram [--photos 200] [--users 20] [--side 1280]

Starts the fake Bot API (tests/fakes/telegram_server.py) and the real application polling it (bot.telegram_bot.serve:
PTB, AIORateLimiter, the real pipeline, a fresh SQLite file in a temporary folder), pushes all photo updates at
once from ``--users`` users, and times each from its push to the bot's reply arriving at the fake. Photos are
real (scikit-image's astronaut and its flipped/tilted/greyscale variants, as in bench_pipeline). The flood limit
is lifted. Prints a table; needs the test extras (scikit-image).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from benchmarks.bench_pipeline import percentiles, real_photos
from moodtunes.bot.service import ChatService
from moodtunes.bot.telegram_bot import serve
from moodtunes.core.pipeline import Pipeline
from moodtunes.core.settings import Settings
from moodtunes.db.store import Store
from tests.fakes.telegram_server import ApiCall, FakeTelegram

TICK = 0.05  # seconds between two ticks of the event-loop watchdog


async def run(pipeline: Pipeline, photos: list[bytes], users: int, side: int, data_dir: Path) -> list[tuple[str, str]]:
    store = Store(f"sqlite:///{data_dir / 'moodtunes.sqlite3'}", salt="bench-salt")
    store.upgrade()
    service = ChatService(pipeline, store, photos_per_minute=1_000_000)
    fake = await FakeTelegram(poll_wait=0.3).start()
    settings = Settings(_env_file=None, data_dir=data_dir, user_id_salt="bench-salt", telegram_token=fake.token,
                        telegram_base_url=fake.base_url, telegram_base_file_url=fake.base_file_url)
    stop = asyncio.Event()
    bot = asyncio.create_task(serve(settings, service, stop))
    try:
        await fake.wait_for("getUpdates", timeout=60)
        replies: dict[int, list[ApiCall]] = {}
        all_in = asyncio.Event()

        def on_call(call: ApiCall) -> None:
            if call.method in ("sendMessage", "sendDocument"):
                replies.setdefault(call.chat_id, []).append(call)
                if sum(map(len, replies.values())) >= len(photos):
                    all_in.set()

        fake.listen(on_call)
        gaps: list[float] = []

        async def ticker() -> None:
            last = time.monotonic()
            while not all_in.is_set():
                await asyncio.sleep(TICK)
                gaps.append(time.monotonic() - last)
                last = time.monotonic()

        watchdog = asyncio.create_task(ticker())
        pushed: dict[int, list[float]] = {}
        started = time.monotonic()
        for n, photo in enumerate(photos):
            user = 1 + n % users
            pushed.setdefault(user, []).append(time.monotonic())
            fake.send_photo(user, photo, side, side)
        await asyncio.wait_for(all_in.wait(), timeout=60 + 5 * len(photos))
        elapsed = time.monotonic() - started
        await watchdog
    finally:
        stop.set()
        await asyncio.wait_for(bot, 60)
        await fake.stop()
        store.close()

    # A reply does not name its update, and a user's replies come in the order their photos were handled:
    # pair each user's pushes and replies in time order (all pushes happen within a few ms of each other).
    latencies = [(reply.at - at) * 1000 for user, times in pushed.items()
                 for at, reply in zip(sorted(times), sorted(replies[user], key=lambda c: c.at), strict=True)]
    answered = sum(1 for calls in replies.values() for c in calls if "You look" in c.text)
    p50, p95 = percentiles(latencies)
    return [
        ("photos pushed / answered with tracks", f"{len(photos)} / {answered}"),
        ("users", f"{users}"),
        ("wall time, first push to last reply", f"{elapsed:.2f} s"),
        ("replies per second", f"{len(photos) / elapsed:.2f}"),
        ("reply latency p50", f"{p50:.0f} ms"),
        ("reply latency p95", f"{p95:.0f} ms"),
        ("reply latency max", f"{max(latencies):.0f} ms"),
        ("longest event-loop gap (50 ms ticker)", f"{max(gaps, default=0) * 1000:.0f} ms"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=200, help="photo updates to push (default 200)")
    parser.add_argument("--users", type=int, default=20, help="distinct Telegram users sending them (default 20)")
    parser.add_argument("--side", type=int, default=1280, help="photo size in pixels (Telegram's largest: 1280)")
    args = parser.parse_args()

    settings = Settings(_env_file=None)
    pipeline = Pipeline.from_settings(settings)
    pipeline.warm_up(background=False)
    photos = real_photos(args.photos, side=args.side)
    with tempfile.TemporaryDirectory(prefix="bench-telegram-") as folder:
        rows = asyncio.run(run(pipeline, photos, args.users, args.side, Path(folder)))

    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  {'value':>14}")
    print("-" * (width + 16))
    for name, value in rows:
        print(f"{name:<{width}}  {value:>14}")
    print(f"\nmachine: {os.cpu_count()} CPUs; model {pipeline.model_version}; "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
