"""Store.claim_update: each chat update is taken on once, even when two processes (replicas) claim it at the same
moment, on SQLite and on PostgreSQL; old ids are pruned."""

from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa

from moodtunes.db.models import utcnow
from moodtunes.db.store import PROCESSED_UPDATES_KEPT, PRUNE_EVERY, Store

from .seed import SALT


def _rows(store: Store) -> list[tuple]:
    with store.engine.connect() as connection:
        return connection.exec_driver_sql("SELECT platform, update_id FROM processed_updates "
                                          "ORDER BY platform, update_id").all()


def test_an_update_is_claimed_once_per_platform(store: Store) -> None:
    assert store.claim_update("telegram", 7) is True
    assert store.claim_update("telegram", 7) is False  # redelivered
    assert store.claim_update("discord", 7) is True  # another platform's numbering
    assert store.claim_update("telegram", 2**40) is True  # Telegram's ids outgrow 32 bits
    assert _rows(store) == [("discord", 7), ("telegram", 7), ("telegram", 2**40)]


def test_replicas_claiming_the_same_updates_together_let_exactly_one_through(db_url: str) -> None:
    first = Store(db_url, salt=SALT)
    first.upgrade()
    replicas = [first, Store(db_url, salt=SALT)]  # two engines, two connection pools: two replicas
    wins: list[list[int]] = [[], []]
    start = threading.Barrier(2)

    def claim_all(index: int) -> None:
        start.wait(10)
        wins[index] = [u for u in range(1, 201) if replicas[index].claim_update("telegram", u)]

    threads = [threading.Thread(target=claim_all, args=(i,)) for i in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(wins[0] + wins[1]) == list(range(1, 201))  # every update once, none twice, none lost
    finally:
        for replica in replicas:
            replica.close()


def test_old_ids_are_pruned(store: Store) -> None:
    now = utcnow()
    store.claim_update("telegram", 1, now=now - PROCESSED_UPDATES_KEPT - timedelta(minutes=1))
    store.claim_update("telegram", 2, now=now + PRUNE_EVERY - PROCESSED_UPDATES_KEPT + timedelta(minutes=1))
    store.claim_update("telegram", 3, now=now + PRUNE_EVERY)  # a prune is due: 1 is too old now, 2 is not
    with store.engine.connect() as connection:
        kept = connection.execute(sa.text("SELECT update_id FROM processed_updates ORDER BY update_id")).scalars()
        assert list(kept) == [2, 3]
