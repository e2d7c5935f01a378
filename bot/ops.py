"""The operations endpoint of a replica: ``/metrics`` (Prometheus, bot.metrics) and ``/healthz`` on METRICS_PORT.

``/healthz`` answers 200 when every check passes and 503 otherwise, with a JSON body naming each check:
``database`` (one round trip), ``broker`` (a TCP connect to BROKER_URL's host, only when it is set) and ``model``
(the emotion model is loaded). It says nothing secret: no URL, no password, only ``ok`` or the error's type.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from moodtunes.bot import metrics
from moodtunes.bot.service import ChatService
from moodtunes.core.settings import Settings
from moodtunes.db.errors import StorageUnavailable

log = logging.getLogger("moodtunes.ops")

CHECK_TIMEOUT = 2.0  # seconds each check may take before it counts as down
_DEFAULT_PORTS = {"amqp": 5672, "amqps": 5671, "redis": 6379, "rediss": 6380}


async def check_database(service: ChatService) -> str:
    try:
        await asyncio.wait_for(asyncio.to_thread(service.store.ping), CHECK_TIMEOUT)
    except StorageUnavailable as exc:
        log.warning("healthz: database unreachable: %s", exc)
        return "unreachable"
    except TimeoutError:
        return "timeout"
    return "ok"


async def check_broker(broker_url: str) -> str:
    """Can a connection be opened to the broker? (The broker's own protocol is the workers' business.)"""
    parts = urlsplit(broker_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or _DEFAULT_PORTS.get(parts.scheme, 5672)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CHECK_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        return f"unreachable ({type(exc).__name__})"
    writer.close()
    await writer.wait_closed()
    return "ok"


async def measure_queue_depth(jobs) -> None:
    """Set the queue-depth gauge from the broker at scrape time; an unreachable broker leaves it as it was."""
    try:
        waiting = await asyncio.wait_for(asyncio.to_thread(jobs.queue_depth), CHECK_TIMEOUT)
    except Exception as exc:  # any broker failure: /healthz reports it, the metrics still answer
        log.warning("metrics: queue depth unknown: %s", type(exc).__name__)
        return
    metrics.QUEUE_DEPTH.labels(queue=jobs.queue).set(waiting)


async def health(service: ChatService, settings: Settings) -> dict[str, Any]:
    checks = {"database": await check_database(service),
              "model": "ok" if service.pipeline.model_version else "not loaded"}
    if broker_url := settings.broker_url.get_secret_value():
        checks["broker"] = await check_broker(broker_url)
    return {"status": "ok" if all(v == "ok" for v in checks.values()) else "fail", "checks": checks}


def ops_app(service: ChatService, settings: Settings) -> web.Application:
    """``GET /metrics`` and ``GET /healthz``."""

    async def healthz(_request: web.Request) -> web.Response:
        report = await health(service, settings)
        return web.json_response(report, status=200 if report["status"] == "ok" else 503)

    async def metrics_page(_request: web.Request) -> web.Response:
        if service.jobs is not None:
            await measure_queue_depth(service.jobs)
        body = await asyncio.to_thread(generate_latest, REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_page)
    return app


async def serve_ops(service: ChatService, settings: Settings, stop: asyncio.Event) -> None:
    """Serve the ops endpoint on METRICS_LISTEN:METRICS_PORT until ``stop`` is set."""
    runner = web.AppRunner(ops_app(service, settings), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.metrics_listen, settings.metrics_port)
        await site.start()
        log.info("metrics and health on %s:%d", settings.metrics_listen, settings.metrics_port)
        await stop.wait()
    finally:
        await runner.cleanup()
