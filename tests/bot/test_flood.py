"""The photo flood limit: in-process, and shared by replicas through the real Redis on 127.0.0.1:6379 (each test
under its own key prefix); with Redis down it fails open with one log line."""

from __future__ import annotations

import logging
import threading

import redis

from moodtunes.bot.flood import FloodGuard, RedisFloodGuard, flood_limit
from tests.helpers import REDIS_URL, capture_logs


def test_in_process_window():
    guard = FloodGuard(per_minute=3)
    assert all(guard.allow("telegram", "1", now=t) for t in (0, 1, 2))
    assert not guard.allow("telegram", "1", now=3)
    assert guard.allow("telegram", "2", now=3)  # per user
    assert guard.allow("telegram", "1", now=61)  # the window slides


def test_without_redis_url_the_limit_is_in_process():
    assert isinstance(flood_limit(5), FloodGuard)
    assert isinstance(flood_limit(5, REDIS_URL), RedisFloodGuard)


def test_two_replicas_share_one_window(redis_keys):
    replicas = [RedisFloodGuard(3, REDIS_URL, prefix=redis_keys) for _ in range(2)]  # two clients, two pools
    try:
        # Photos of one user reach the replicas alternately: together they count three, not six.
        assert [replicas[n % 2].allow("telegram", "42") for n in range(5)] == [True, True, True, False, False]
        assert replicas[1].allow("telegram", "43")  # per user
        assert replicas[0].allow("discord", "42")  # per platform
        ttl = redis.Redis.from_url(REDIS_URL).pttl(f"{redis_keys}flood:telegram:42")
        assert 0 < ttl <= 60_000  # the window expires with the minute: no key outlives its user's photos
    finally:
        for replica in replicas:
            replica.close()


def test_concurrent_photos_on_two_replicas_admit_exactly_the_limit(redis_keys):
    replicas = [RedisFloodGuard(10, REDIS_URL, prefix=redis_keys) for _ in range(2)]
    admitted: list[bool] = []
    lock, start = threading.Lock(), threading.Barrier(4)

    def send(replica: RedisFloodGuard) -> None:
        start.wait(10)
        for _ in range(15):
            allowed = replica.allow("telegram", "7")
            with lock:
                admitted.append(allowed)

    threads = [threading.Thread(target=send, args=(replicas[n % 2],)) for n in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(admitted) == 60 and admitted.count(True) == 10
    finally:
        for replica in replicas:
            replica.close()


def test_redis_down_fails_open_with_one_log_line():
    guard = RedisFloodGuard(1, "redis://127.0.0.1:1/0", prefix="unused:", timeout=0.2)  # nothing listens there
    with capture_logs("moodtunes.flood", logging.WARNING) as records:
        assert all(guard.allow("telegram", "5") for _ in range(5))  # over the limit of 1, yet answered
    guard.close()
    assert len(records) == 1 and records[0].levelno == logging.ERROR
    assert "Redis unavailable" in records[0].getMessage() and "127.0.0.1" not in records[0].getMessage()
