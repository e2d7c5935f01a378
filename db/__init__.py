"""MoodTunes storage: users (hashed ids only), recommendation events and track feedback.

SQLAlchemy 2.x models with Alembic migrations; works on SQLite (default) and PostgreSQL.
The public entry point is :class:`db.store.Store`; it returns frozen dataclasses, never ORM objects.
"""

from moodtunes.db.engine import make_engine
from moodtunes.db.records import EventRecord
from moodtunes.db.store import Store

__all__ = ["EventRecord", "Store", "make_engine"]
