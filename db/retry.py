"""Retry of write transactions that hit SQLite's "database is locked"."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import OperationalError

log = logging.getLogger("moodtunes.db")

T = TypeVar("T")

# With the 2 s busy timeout, a chat handler waits at most about 6 s before the user is told to retry.
ATTEMPTS = 3
BASE_DELAY_S = 0.05


def is_locked_error(exc: BaseException) -> bool:
    """True for SQLite's "database is locked" (also raised for a stale WAL snapshot)."""
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig or exc)


def retry_locked(
    operation: Callable[[], T],
    *,
    what: str,
    attempts: int | None = None,
    base_delay: float = BASE_DELAY_S,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``operation`` (a whole transaction), retrying it when the database is locked.

    Writers already wait up to busy_timeout for the lock (and take it at BEGIN, see
    ``db.engine.for_writes``); what is left is a lock held longer than that, e.g. by a long
    write from another process, or a stale snapshot in a deferred transaction. Rerunning the
    transaction from the start fixes both. Backoff doubles with jitter so competing threads do
    not retry in lockstep. After ``attempts`` tries the error is logged and re-raised; any other
    error passes through at once.
    """
    attempts = ATTEMPTS if attempts is None else attempts
    started = time.monotonic()
    for attempt in range(1, attempts + 1):
        try:
            return operation()
        except OperationalError as exc:
            if not is_locked_error(exc):
                raise
            if attempt == attempts:
                log.error(
                    "database is locked: %s failed after %d attempts in %.2fs; giving up",
                    what,
                    attempts,
                    time.monotonic() - started,
                )
                raise
            delay = base_delay * 2 ** (attempt - 1) * (1 + random.random())
            log.warning(
                "database is locked: %s attempt %d/%d failed; retrying in %.3fs", what, attempt, attempts, delay
            )
            sleep(delay)
    raise AssertionError("unreachable")  # the loop either returns or raises
