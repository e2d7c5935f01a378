"""`moodtunes run`: every adapter whose token is set, in one process; the console chat when none is."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from moodtunes.core.errors import MoodTunesError
from moodtunes.core.settings import Settings, get_settings

log = logging.getLogger("moodtunes")


async def serve_adapters(settings: Settings, service, webhook_url: str | None = None,
                         stop: asyncio.Event | None = None) -> None:
    """Run the configured adapters until ``stop`` is set (SIGINT/SIGTERM set it)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread, or not supported here
            loop.add_signal_handler(sig, stop.set)
    tasks = []
    if settings.telegram_token.get_secret_value():
        from moodtunes.bot.telegram_bot import serve as serve_telegram

        tasks.append(asyncio.create_task(serve_telegram(settings, service, stop, webhook_url=webhook_url),
                                         name="telegram"))
    if settings.discord_token.get_secret_value():
        from moodtunes.bot.discord_bot import serve as serve_discord

        tasks.append(asyncio.create_task(serve_discord(settings, service, stop), name="discord"))
    if settings.metrics_port:
        from moodtunes.bot.ops import serve_ops

        tasks.append(asyncio.create_task(serve_ops(service, settings, stop), name="metrics"))
    log.info("running: %s", ", ".join(t.get_name() for t in tasks))
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None:
                log.error("%s adapter stopped: %s", task.get_name(), task.exception())
                raise task.exception()
    finally:
        stop.set()
        for task in tasks:
            if not task.done():
                try:
                    await asyncio.wait_for(task, timeout=15)
                except (TimeoutError, Exception):  # shutting down: report, don't mask the first error
                    log.warning("%s adapter did not stop cleanly", task.get_name())
    log.info("stopped")


def run_adapters(webhook_url: str | None = None) -> int:
    """Exit code: 0 after a clean stop, 1 when the model/catalog/config is unusable (message names the file)."""
    settings = get_settings()
    has_token = bool(settings.telegram_token.get_secret_value() or settings.discord_token.get_secret_value())
    if webhook_url and not settings.telegram_token.get_secret_value():
        print("error: --webhook needs TELEGRAM_TOKEN", file=sys.stderr)
        return 1
    if webhook_url and not settings.telegram_webhook_secret.get_secret_value():
        print("error: --webhook needs TELEGRAM_WEBHOOK_SECRET (Telegram sends it with every update)", file=sys.stderr)
        return 1
    if not has_token:
        from moodtunes.bot.console import run_console

        log.info("no TELEGRAM_TOKEN or DISCORD_TOKEN set: starting the console chat")
        run_console()
        return 0
    from moodtunes.bot.app import build_service

    try:
        service = build_service(settings)
    except MoodTunesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    asyncio.run(serve_adapters(settings, service, webhook_url))
    return 0
