"""Every Prometheus metric MoodTunes exports, defined once here (prometheus-client's default registry).

Served on ``METRICS_PORT`` by bot.ops together with ``/healthz``. Label values are small closed sets (platform,
answer kind, stage, error place, queue name): never a user id.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import Counter, Gauge, Histogram

# Pipeline stages take milliseconds to a second; a whole photo up to many seconds under load.
_STAGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_PHOTO_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

ANSWERS = Counter("moodtunes_answers", "Answers sent, by platform and kind (tracks, no_face, rejected, info, "
                  "confirm_forget, toast)", ["platform", "kind"])
PHOTO_SECONDS = Histogram("moodtunes_photo_seconds", "Time from photo bytes to an answer (pipeline and database)",
                          ["platform"], buckets=_PHOTO_BUCKETS)
STAGE_SECONDS = Histogram("moodtunes_stage_seconds", "Time per pipeline stage (decode, detect_align, classify, "
                          "recommend)", ["stage"], buckets=_STAGE_BUCKETS)
ERRORS = Counter("moodtunes_errors", "Failures: handler errors, storage unavailable, photos that crashed the "
                 "pipeline", ["where"])
DUPLICATE_UPDATES = Counter("moodtunes_duplicate_updates", "Updates dropped because some replica already "
                            "took them on", ["platform"])
QUEUE_DEPTH = Gauge("moodtunes_queue_depth", "Photo jobs waiting in the broker's queue (set by whoever "
                    "measures it)", ["queue"])


def observe_stages(timings_ms: Mapping[str, float]) -> None:
    """Record one photo's per-stage timings, as core.pipeline fills them (milliseconds)."""
    for stage, ms in timings_ms.items():
        STAGE_SECONDS.labels(stage=stage).observe(ms / 1000)


def count_answer(platform: str, kind: str) -> None:
    ANSWERS.labels(platform=platform, kind=kind).inc()
