"""Fixtures of the chat front-end suites: the real Telegram application and the real Discord client, each
started once per test module against its fake server on loopback, with the real pipeline and a real SQLite file.
A module that needs them differently (faults, rate limits) defines its own fixtures of the same names."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import pytest
import pytest_asyncio

from moodtunes.bot.discord_bot import serve as serve_discord
from moodtunes.bot.service import ChatService
from moodtunes.bot.telegram_bot import serve as serve_telegram
from moodtunes.core.settings import Settings
from moodtunes.db.store import Store
from tests.bot.discord_flows import Capture, race
from tests.bot.telegram_flows import TOKEN, WAIT, bot_settings, started
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.telegram_server import FakeTelegram
from tests.helpers import capture_logs, migrated_sqlite_store


# --- Telegram ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def log_records():
    """Every log record of the module, at DEBUG (caplog would only see one test's)."""
    with capture_logs() as records:
        yield records


@pytest.fixture(scope="module")
def tg_store(tmp_path_factory) -> Store:
    store = migrated_sqlite_store(tmp_path_factory.mktemp("tg"))
    yield store
    store.close()


@pytest.fixture(scope="module")
def tg_service(pipeline, tg_store) -> ChatService:
    return ChatService(pipeline, tg_store, photos_per_minute=1000)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def tg(log_records, tg_service, tmp_path_factory):
    """The fake Bot API with the real application polling it (through ``serve``), for the whole module."""
    fake = await FakeTelegram(TOKEN, poll_wait=0.3).start()
    stop = asyncio.Event()
    task = asyncio.create_task(serve_telegram(bot_settings(fake, tmp_path_factory.mktemp("tgdata")), tg_service,
                                              stop))
    await started(task, fake.wait_for("getUpdates", timeout=WAIT))
    yield fake
    stop.set()
    await asyncio.wait_for(task, WAIT)  # stops cleanly, re-raising anything serve() raised
    await fake.stop()


# --- Discord -------------------------------------------------------------------------------------------------
@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(pipeline, tmp_path_factory):
    """The fake Discord, and the real client connected to it through ``serve``; ``capture`` keeps every log line.
    ``start``/``stop_client`` restart the client (the fake and the store stay)."""
    capture = Capture()
    loggers = [logging.getLogger(name) for name in ("discord", "moodtunes", "aiohttp")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(capture)

    data_dir = tmp_path_factory.mktemp("discord")
    db_path = data_dir / "moodtunes.sqlite3"
    store = Store(f"sqlite:///{db_path}", salt="test-salt")
    store.upgrade()
    service = ChatService(pipeline, store, photos_per_minute=1000)
    fake = FakeDiscord()
    await fake.start()
    settings = Settings(_env_file=None, data_dir=data_dir, user_id_salt="test-salt",
                        discord_token=fake.token, discord_api_base_url=fake.api_base)
    state = SimpleNamespace(fake=fake, service=service, settings=settings, db_path=db_path, capture=capture,
                            user=fake.user("alice"), stop=None, task=None)
    state.channel = fake.dm_channel(state.user)

    async def start() -> None:
        state.stop = asyncio.Event()
        state.task = asyncio.create_task(serve_discord(settings, service, state.stop))
        await asyncio.wait_for(race(fake.wait_identified(len(fake.identifies) + 1), state.task), WAIT)

    async def stop() -> None:
        state.stop.set()
        await asyncio.wait_for(state.task, 15)

    state.start, state.stop_client = start, stop
    await start()
    try:
        yield state
    finally:
        if not state.task.done():
            await stop()
        await fake.close()
        store.close()
        logging.getLogger().removeHandler(capture)
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
