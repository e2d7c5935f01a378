"""`moodtunes run`: every adapter whose token is set, in one process; the console chat when none is."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from moodtunes.core.errors import ConfigError
from moodtunes.core.settings import Settings

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
    log.debug("starting: %s", ", ".join(t.get_name() for t in tasks))  # each adapter says when it is up
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None:  # the caller reports it (one line at start-up)
                log.debug("%s adapter stopped", task.get_name(), exc_info=task.exception())
                raise task.exception()
    finally:
        stop.set()
        for task in tasks:
            if not task.done():
                try:
                    await asyncio.wait_for(task, timeout=15)
                except (TimeoutError, Exception):  # shutting down: report, don't mask the first error
                    log.warning("%s adapter did not stop cleanly", task.get_name())
    log.info("stopped")  # not reached when an adapter failed: the caller's one line says why


def has_token(settings: Settings) -> bool:
    return bool(settings.telegram_token.get_secret_value() or settings.discord_token.get_secret_value())


def run_adapters(settings: Settings, webhook_url: str | None = None) -> None:
    """Serve until stopped. A bad model, catalog, database or token raises: the CLI turns it into one line."""
    if webhook_url and not settings.telegram_token.get_secret_value():
        raise ConfigError("--webhook needs TELEGRAM_TOKEN", "TELEGRAM_TOKEN")
    if webhook_url and not settings.telegram_webhook_secret.get_secret_value():
        raise ConfigError("--webhook needs TELEGRAM_WEBHOOK_SECRET (Telegram sends it with every update)",
                          "TELEGRAM_WEBHOOK_SECRET")
    if not has_token(settings):
        from moodtunes.bot.console import run_console

        log.info("no TELEGRAM_TOKEN or DISCORD_TOKEN set: starting the console chat")
        run_console(settings)
        return
    from moodtunes.bot.app import build_service

    asyncio.run(serve_adapters(settings, build_service(settings), webhook_url))
