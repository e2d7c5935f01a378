"""The repository the bot talks to: a small synchronous API over users, events and feedback.

Synchronous on purpose: the chat adapters call it through ``asyncio.to_thread``. Every write is
one transaction, retried as a whole when SQLite reports "database is locked". Failures reach callers as
the store's own errors (``db.errors``), never as SQLAlchemy exceptions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from sqlalchemy import Engine, case, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from moodtunes.db import migrate
from moodtunes.db.engine import for_writes, make_engine
from moodtunes.db.errors import NotFound, StorageUnavailable
from moodtunes.db.identity import hash_user_id
from moodtunes.db.models import Feedback, ProcessedUpdate, RecommendationEvent, User, utcnow
from moodtunes.db.records import EventRecord, FeedbackCount
from moodtunes.db.retry import retry_locked

T = TypeVar("T")

Grouping = Literal["emotion", "mood", "strategy", "model_version"]
GROUPINGS: tuple[Grouping, ...] = ("emotion", "mood", "strategy", "model_version")

# The most shown-track ids recently_shown_track_ids returns, however busy the user's month was.
SHOWN_CAP = 5_000

# How long a handled update's id is remembered: Telegram keeps an undelivered update for at most 24 hours.
PROCESSED_UPDATES_KEPT = timedelta(days=2)
PRUNE_EVERY = timedelta(minutes=10)  # each process deletes expired ids at most this often

# Dialects with INSERT ... ON CONFLICT; their insert() constructs share one API.
_UPSERT_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


class Store:
    """Users (hashed ids only), recommendation events and votes, on SQLite or PostgreSQL.

    ``salt`` keys the HMAC of platform user ids. It may be empty only for a store that never
    looks users up by platform id (e.g. the feedback report); hashing with it raises ValueError.
    """

    def __init__(self, url: str, salt: str) -> None:
        try:
            self._engine = make_engine(url)
        except (SQLAlchemyError, ImportError, OSError) as exc:  # bad URL, no driver, no folder for the file
            raise StorageUnavailable(f"open: {type(exc).__name__}: {' '.join(str(exc).split())}") from exc
        self._salt = salt
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(for_writes(self._engine), expire_on_commit=False)
        self._pruned_at: datetime | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The underlying engine (for diagnostics and tests)."""
        return self._engine

    def upgrade(self) -> None:
        """Run the Alembic migrations up to head on this store's database."""
        self._guarded("upgrade", lambda: migrate.upgrade(self._engine))

    def ping(self) -> None:
        """One round trip to the database (health checks); StorageUnavailable when it cannot be reached."""
        self._read(lambda s: s.execute(select(1)).scalar_one())

    def close(self) -> None:
        """Close all pooled connections."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- users -----------------------------------------------------------------------------

    def user_id(self, platform: str, platform_user_id: str) -> int:
        """The internal id of a platform user, created on first sight. Only the hash is stored."""
        user_hash = hash_user_id(self._salt, platform_user_id)
        found = self._read(lambda s: self._find_user(s, platform, user_hash))
        if found is not None:
            return found

        def create(s: Session) -> int:
            # ON CONFLICT DO NOTHING: two first messages racing each other must not fail.
            insert = self._insert_for(s)
            s.execute(
                insert(User)
                .values(platform=platform, user_hash=user_hash, settings={}, created_at=utcnow())
                .on_conflict_do_nothing(index_elements=["platform", "user_hash"])
            )
            created = self._find_user(s, platform, user_hash)
            assert created is not None
            return created

        return self._write("user_id", create)

    def user_settings(self, user_id: int) -> dict[str, Any]:
        """A copy of the user's settings dict. NotFound for an unknown user."""

        def read(s: Session) -> dict[str, Any]:
            settings = s.scalar(select(User.settings).where(User.id == user_id))
            if settings is None:
                raise NotFound(f"no user {user_id}")
            return dict(settings)

        return self._read(read)

    def set_user_setting(self, user_id: int, key: str, value: Any) -> None:
        """Set one key of the user's settings (value must be JSON-serialisable)."""

        def write(s: Session) -> None:
            user = s.scalar(select(User).where(User.id == user_id).with_for_update(key_share=True))
            if user is None:
                raise NotFound(f"no user {user_id}")
            user.settings = {**user.settings, key: value}  # a new dict, so the JSON change is detected

        self._write("set_user_setting", write)

    # -- events ----------------------------------------------------------------------------

    def record_event(
        self,
        user_id: int,
        *,
        source: str,
        emotion: str | None,
        probabilities: dict[str, float] | None,
        mood: str,
        strategy: str,
        model_version: str | None,
        faces: int,
        track_ids: list[str],
    ) -> int:
        """Store one answer and return its event id."""
        # Plain floats/ints/strs: model outputs are often numpy scalars, which JSON cannot encode.
        probs = {str(k): float(v) for k, v in probabilities.items()} if probabilities is not None else None
        shown = _unique(track_ids)

        def write(s: Session) -> int:
            # Built inside the transaction: a retried attempt must not reuse a rolled-back object.
            event = RecommendationEvent(
                user_id=user_id,
                created_at=utcnow(),
                source=source,
                emotion=emotion,
                probabilities=probs,
                mood=mood,
                strategy=strategy,
                model_version=model_version,
                faces=int(faces),
                track_ids=shown,
            )
            s.add(event)
            s.flush()
            return event.id

        return self._write("record_event", write)

    def get_event(self, event_id: int) -> EventRecord | None:
        """One event, or None when there is no such id."""
        row = self._read(lambda s: s.get(RecommendationEvent, event_id))
        return _event_record(row) if row is not None else None

    def history(self, user_id: int, limit: int = 10) -> list[EventRecord]:
        """The user's latest events, newest first."""
        query = (
            select(RecommendationEvent)
            .where(RecommendationEvent.user_id == user_id)
            .order_by(RecommendationEvent.created_at.desc(), RecommendationEvent.id.desc())
            .limit(max(limit, 0))
        )
        return [_event_record(e) for e in self._read(lambda s: s.scalars(query).all())]

    def recently_shown_track_ids(self, user_id: int, *, last: int = 200, days: float = 30,
                                 now: datetime | None = None) -> list[str]:
        """Tracks shown to the user lately, newest first, each once: at least the ``last`` shown, and every one
        shown in the past ``days`` (capped at ``SHOWN_CAP``). Read from the events' track lists, so "More"
        pages count too."""
        cutoff = (now or utcnow()) - timedelta(days=days)
        query = (
            select(RecommendationEvent.created_at, RecommendationEvent.track_ids)
            .where(RecommendationEvent.user_id == user_id)
            .order_by(RecommendationEvent.created_at.desc(), RecommendationEvent.id.desc())
            .execution_options(yield_per=64)
        )

        def read(s: Session) -> list[str]:
            shown: dict[str, None] = {}
            for created_at, track_ids in s.execute(query):
                if (len(shown) >= last and created_at < cutoff) or len(shown) >= SHOWN_CAP:
                    break
                for track_id in reversed(track_ids or []):  # "More" appends: the end is the newest
                    shown.setdefault(str(track_id), None)
            return list(shown)

        return self._read(read)

    # -- feedback --------------------------------------------------------------------------

    def vote(self, event_id: int, user_id: int, track_id: str, value: int) -> None:
        """Record a like (+1) or dislike (-1); pressing again on the same track replaces the vote.

        ValueError for any other value; NotFound for an unknown event or user.
        """
        if isinstance(value, bool) or value not in (1, -1):
            raise ValueError(f"vote must be +1 or -1, not {value!r}")

        def write(s: Session) -> None:
            if s.scalar(select(RecommendationEvent.id).where(RecommendationEvent.id == event_id)) is None:
                raise NotFound(f"no event {event_id}")
            if s.scalar(select(User.id).where(User.id == user_id)) is None:
                raise NotFound(f"no user {user_id}")
            now = utcnow()
            insert = self._insert_for(s)(Feedback).values(
                event_id=event_id, user_id=user_id, track_id=track_id, value=int(value), created_at=now, updated_at=now
            )
            s.execute(
                insert.on_conflict_do_update(
                    index_elements=["event_id", "user_id", "track_id"],
                    set_={"value": insert.excluded.value, "updated_at": insert.excluded.updated_at},
                )
            )

        self._write("vote", write)

    def disliked_track_ids(self, user_id: int) -> set[str]:
        """Tracks whose latest vote by this user (over all events) is a dislike."""
        return {track for track, value in self._latest_votes(user_id) if value == -1}

    def liked_track_ids(self, user_id: int) -> list[str]:
        """Tracks whose latest vote by this user is a like, most recently voted first."""
        return [track for track, value in self._latest_votes(user_id) if value == 1]

    def votes_by_event(self, user_id: int) -> dict[int, tuple[int, int]]:
        """(likes, dislikes) the user gave on each of their answers that has votes."""
        query = (
            select(
                Feedback.event_id,
                func.sum(case((Feedback.value == 1, 1), else_=0)),
                func.sum(case((Feedback.value == -1, 1), else_=0)),
            )
            .where(Feedback.user_id == user_id)
            .group_by(Feedback.event_id)
        )
        rows = self._read(lambda s: s.execute(query).all())
        return {int(event): (int(likes), int(dislikes)) for event, likes, dislikes in rows}

    def feedback_counts(self, by: Grouping) -> list[FeedbackCount]:
        """Likes and dislikes over all votes, grouped by one event column (None groups NULLs)."""
        if by not in GROUPINGS:
            raise ValueError(f"cannot group feedback by {by!r}; choose one of {GROUPINGS}")
        column = getattr(RecommendationEvent, by)
        query = (
            select(
                column,
                func.sum(case((Feedback.value == 1, 1), else_=0)),
                func.sum(case((Feedback.value == -1, 1), else_=0)),
            )
            .select_from(Feedback)
            .join(RecommendationEvent, Feedback.event_id == RecommendationEvent.id)
            .group_by(column)
        )
        rows = self._read(lambda s: s.execute(query).all())
        return [FeedbackCount(key=key, likes=int(likes), dislikes=int(dislikes)) for key, likes, dislikes in rows]

    # -- privacy ---------------------------------------------------------------------------

    def export_user(self, platform: str, platform_user_id: str) -> dict[str, Any]:
        """Everything stored about one user, JSON-serialisable. ``user`` is None if nothing is stored.

        Shape: ``{"user": {...} | None, "events": [...], "feedback": [...]}``, events and votes oldest first.
        """
        user_hash = hash_user_id(self._salt, platform_user_id)

        def read(s: Session) -> dict[str, Any]:
            user = s.scalar(select(User).where(User.platform == platform, User.user_hash == user_hash))
            if user is None:
                return {"user": None, "events": [], "feedback": []}
            events = s.scalars(
                select(RecommendationEvent)
                .where(RecommendationEvent.user_id == user.id)
                .order_by(RecommendationEvent.created_at, RecommendationEvent.id)
            ).all()
            votes = s.scalars(
                select(Feedback).where(Feedback.user_id == user.id).order_by(Feedback.created_at, Feedback.id)
            ).all()
            return {
                "user": {
                    "id": user.id,
                    "platform": user.platform,
                    "user_hash": user.user_hash,
                    "settings": dict(user.settings),
                    "created_at": user.created_at.isoformat(),
                },
                "events": [_event_record(e).to_json() for e in events],
                "feedback": [
                    {
                        "event_id": v.event_id,
                        "track_id": v.track_id,
                        "value": v.value,
                        "created_at": v.created_at.isoformat(),
                        "updated_at": v.updated_at.isoformat(),
                    }
                    for v in votes
                ],
            }

        return self._read(read)

    def forget_user(self, platform: str, platform_user_id: str) -> int:
        """Delete a user, their events, their votes and any votes on their events; return rows deleted."""
        user_hash = hash_user_id(self._salt, platform_user_id)

        def write(s: Session) -> int:
            uid = self._find_user(s, platform, user_hash)
            if uid is None:
                return 0
            # Explicit deletes rather than relying on ON DELETE CASCADE: exact row counts, and
            # nothing survives even on a connection where SQLite foreign keys are off.
            their_events = select(RecommendationEvent.id).where(RecommendationEvent.user_id == uid)
            statements = (
                delete(Feedback).where(or_(Feedback.user_id == uid, Feedback.event_id.in_(their_events))),
                delete(RecommendationEvent).where(RecommendationEvent.user_id == uid),
                delete(User).where(User.id == uid),
            )
            opts = {"synchronize_session": False}  # a fresh session holds no objects to sync
            return sum(s.execute(stmt, execution_options=opts).rowcount for stmt in statements)  # type: ignore[attr-defined]

        return self._write("forget_user", write)

    # -- delivery -------------------------------------------------------------------------

    def claim_update(self, platform: str, update_id: int, *, now: datetime | None = None) -> bool:
        """True the first time any process claims this update, False for a repeat (redelivery, or the same update
        sent to a second replica): the unique key decides, so concurrent claims on any backend let one through.
        Ids older than PROCESSED_UPDATES_KEPT are pruned now and then."""
        now = now or utcnow()

        def write(s: Session) -> bool:
            claimed = s.execute(
                self._insert_for(s)(ProcessedUpdate)
                .values(platform=platform, update_id=int(update_id), created_at=now)
                .on_conflict_do_nothing(index_elements=["platform", "update_id"])
                .returning(ProcessedUpdate.update_id)  # a row back only when this insert made it
            ).first()
            if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
                s.execute(delete(ProcessedUpdate).where(ProcessedUpdate.created_at < now - PROCESSED_UPDATES_KEPT),
                          execution_options={"synchronize_session": False})
            return claimed is not None

        claimed = self._write("claim_update", write)
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
        return claimed

    # -- conversation: lookups without side effects, atomic paging ------------------------

    def find_user_id(self, platform: str, platform_user_id: str) -> int | None:
        """The internal id of a platform user, or None: unlike ``user_id`` it never creates the user."""
        user_hash = hash_user_id(self._salt, platform_user_id)
        return self._read(lambda s: self._find_user(s, platform, user_hash))

    def page_event(self, event_id: int, pick: Callable[[EventRecord], tuple[Sequence[str], T]]) -> T:
        """Choose and record the next tracks of an answer ("More") as one atomic step; returns what ``pick`` made.

        ``pick`` gets the event as stored now and returns (the ids to show next, anything for the caller). The
        ids are appended to the event's shown tracks in the same transaction, which holds the event's lock from
        the read on (SELECT ... FOR UPDATE on PostgreSQL; BEGIN IMMEDIATE already serialises SQLite writers), so
        two quick presses never get the same page. Ids may repeat an earlier round ("starting over").
        ``pick`` must have no side effects: a transaction that hits a locked SQLite file is run again.
        NotFound for an unknown event.
        """

        def write(s: Session) -> T:
            query = select(RecommendationEvent).where(RecommendationEvent.id == event_id)
            event = s.scalar(query.with_for_update(key_share=True))  # key_share: votes' FK checks still pass
            if event is None:
                raise NotFound(f"no event {event_id}")
            track_ids, result = pick(_event_record(event))
            event.track_ids = [*event.track_ids, *(str(t) for t in track_ids)]  # a new list: the change is seen
            return result

        return self._write("page_event", write)

    # -- internals -------------------------------------------------------------------------

    def _read(self, operation: Callable[[Session], T]) -> T:
        def read() -> T:
            with self._sessions() as session:
                return operation(session)

        return self._guarded("read", read)

    def _write(self, what: str, operation: Callable[[Session], T]) -> T:
        def transaction() -> T:
            with self._write_sessions.begin() as session:
                return operation(session)

        return self._guarded(what, lambda: retry_locked(transaction, what=what))

    @staticmethod
    def _guarded(what: str, operation: Callable[[], T]) -> T:
        """Run ``operation``; a database failure becomes StorageUnavailable naming ``what`` and the driver's
        reason (``orig``: the message without the SQL statement or its parameters)."""
        try:
            return operation()
        except SQLAlchemyError as exc:
            reason = getattr(exc, "orig", None) or exc
            one_line = " ".join(str(reason).split())  # drivers' messages may span lines
            raise StorageUnavailable(f"{what}: {type(reason).__name__}: {one_line}") from exc

    @staticmethod
    def _find_user(s: Session, platform: str, user_hash: str) -> int | None:
        return s.scalar(select(User.id).where(User.platform == platform, User.user_hash == user_hash))

    @staticmethod
    def _insert_for(s: Session) -> Callable[..., Any]:
        dialect = s.get_bind().dialect.name
        try:
            return _UPSERT_INSERTS[dialect]
        except KeyError:
            raise NotImplementedError(f"upserts are implemented for SQLite and PostgreSQL, not {dialect}") from None

    def _latest_votes(self, user_id: int) -> list[tuple[str, int]]:
        """(track_id, value) of the latest vote per track, most recent first."""
        query = (
            select(Feedback.track_id, Feedback.value)
            .where(Feedback.user_id == user_id)
            .order_by(Feedback.updated_at.desc(), Feedback.id.desc())
        )
        latest: dict[str, int] = {}
        for track_id, value in self._read(lambda s: s.execute(query).all()):
            latest.setdefault(track_id, value)  # rows come newest first: keep the first seen
        return list(latest.items())


def _unique(track_ids: Sequence[str]) -> list[str]:
    """Track ids as strings, first occurrence kept, order preserved."""
    return list(dict.fromkeys(str(t) for t in track_ids))


def _event_record(e: RecommendationEvent) -> EventRecord:
    return EventRecord(
        id=e.id,
        user_id=e.user_id,
        created_at=e.created_at,
        source=e.source,
        emotion=e.emotion,
        probabilities=dict(e.probabilities) if e.probabilities is not None else None,
        mood=e.mood,
        strategy=e.strategy,
        model_version=e.model_version,
        faces=e.faces,
        track_ids=tuple(e.track_ids),
    )
