"""Build what every front end shares, once: settings -> pipeline (warmed up) -> store (migrated) -> service."""

from __future__ import annotations

import logging

from moodtunes.bot.flood import flood_limit
from moodtunes.bot.service import ChatService
from moodtunes.core.pipeline import Pipeline
from moodtunes.core.settings import Settings
from moodtunes.db.store import Store

log = logging.getLogger("moodtunes")


def build_service(settings: Settings) -> ChatService:
    """Raises MoodTunesError naming the file, the problem and the setting if the model, catalog or mood table is bad,
    StorageUnavailable if the database cannot be used."""
    # The database first: a wrong DATABASE_URL is reported at once, not after the models have loaded.
    store = Store(settings.database_url.get_secret_value(), salt=settings.resolved_salt())
    store.upgrade()
    pipeline = Pipeline.from_settings(settings)
    pipeline.warm_up()
    flood = flood_limit(settings.photos_per_minute, settings.redis_url, settings.redis_key_prefix)
    jobs = None
    if settings.broker_url.get_secret_value():
        from moodtunes.worker.client import PhotoJobs  # Celery is imported only when workers are in use

        jobs = PhotoJobs(settings)
    log.info("ready: model %s, %d tracks, database %s, flood limit %s, photos analysed %s", pipeline.model_version,
             len(pipeline.recommender.catalog), store.engine.dialect.name,
             "in Redis" if settings.redis_url else "in-process",
             f"by the workers on queue {settings.worker_queue}" if jobs else "in this process")
    return ChatService(pipeline, store, flood=flood, jobs=jobs)
