"""The per-user photo flood limit: a sliding one-minute window, in this process or shared through Redis.

Several replicas behind one public URL must count a user's photos together, so with ``REDIS_URL`` set the window
lives in Redis (one sorted set per user, trimmed and counted by one Lua script, so checks from many replicas never
race). If Redis cannot be reached the limit fails open — photos are answered, not refused — with one log line per
outage: an unavailable limiter must not take the bot down with it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict, deque
from typing import Protocol

log = logging.getLogger("moodtunes.flood")

WINDOW_SECONDS = 60

# KEYS[1]: the user's window; ARGV: limit, window (ms), a unique member. The time is Redis's own, so replicas with
# drifting clocks still share one window. Returns 1 when the photo may come in (and counts it), 0 when it may not.
_SLIDING_WINDOW = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local window_ms = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms - window_ms)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], now_ms, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window_ms)
return 1
"""


class FloodLimit(Protocol):
    per_minute: int

    def allow(self, platform: str, user: str) -> bool:
        """Count one photo of ``user``; False when they already sent ``per_minute`` in the last minute."""


class FloodGuard:
    """In-process sliding window: one replica's memory (the default, and the console)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, platform: str, user: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            window = self._seen[(platform, user)]
            while window and now - window[0] > WINDOW_SECONDS:
                window.popleft()
            if len(window) >= self.per_minute:
                return False
            window.append(now)
            return True


class RedisFloodGuard:
    """The same window in Redis, shared by every replica that uses the same ``url`` and ``prefix``.

    Keys are ``<prefix>flood:<platform>:<user>``; the user is the platform's id as the adapters pass it, kept only
    for a minute. Timeouts are short: the check runs before every photo.
    """

    def __init__(self, per_minute: int, url: str, *, prefix: str = "moodtunes:", timeout: float = 0.5) -> None:
        import redis

        self.per_minute = per_minute
        self.prefix = prefix
        self._errors = redis.RedisError
        self._client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._script = self._client.register_script(_SLIDING_WINDOW)
        self._failing = False
        self._lock = threading.Lock()

    def allow(self, platform: str, user: str) -> bool:
        key = f"{self.prefix}flood:{platform}:{user}"
        try:
            allowed = bool(self._script(keys=[key], args=[self.per_minute, WINDOW_SECONDS * 1000, uuid.uuid4().hex]))
        except self._errors as exc:
            self._note_failure(exc)
            return True  # fail open: better an unlimited minute than no answers at all
        if self._failing:
            with self._lock:
                self._failing = False
            log.warning("flood limit: Redis is back; the limit is shared again")
        return allowed

    def _note_failure(self, exc: Exception) -> None:
        with self._lock:
            first, self._failing = not self._failing, True
        if first:  # one line per outage, not one per photo
            log.error("flood limit: Redis unavailable (%s), photos are not limited until it is back",
                      type(exc).__name__)

    def close(self) -> None:
        self._client.close()


def flood_limit(per_minute: int, redis_url: str = "", prefix: str = "moodtunes:") -> FloodLimit:
    """Redis-backed when ``redis_url`` is set, in-process otherwise."""
    if redis_url:
        return RedisFloodGuard(per_minute, redis_url, prefix=prefix)
    return FloodGuard(per_minute)
