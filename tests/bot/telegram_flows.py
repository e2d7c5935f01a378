"""Helpers for the Telegram suites: settings for the fake Bot API, startup, and what a reply must look like."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import text

from moodtunes.bot import callbacks
from moodtunes.bot.service import STRATEGY_LABEL
from moodtunes.core.settings import Settings
from moodtunes.db.store import Store
from tests.fakes.telegram_server import FakeTelegram

TOKEN = "123:TEST"
TRACK_URL = re.compile(r"https://open\.spotify\.com/track/([0-9A-Za-z]{22})")
WAIT = 30  # seconds: the longest any single reply may take


def bot_settings(fake: FakeTelegram, tmp_path, **extra) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, user_id_salt="test-salt", telegram_token=fake.token,
                    telegram_base_url=fake.base_url, telegram_base_file_url=fake.base_file_url, **extra)


async def started(task: asyncio.Task, ready) -> None:
    """Wait for ``ready`` (a coroutine), failing at once if the bot task dies first."""
    waiter = asyncio.ensure_future(ready)
    done, _ = await asyncio.wait({task, waiter}, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        waiter.cancel()
        task.result()  # raises the bot's startup error
        raise AssertionError("the bot stopped during startup")
    assert waiter in done, "the bot did not start in time"


def track_ids(reply) -> list[str]:
    return TRACK_URL.findall(reply.text)


def votes(reply) -> list[tuple[callbacks.Vote, str]]:
    """(decoded payload, label) of every 👍/👎 button: all the 👍 first, then all the 👎."""
    found = [(callbacks.decode(b["callback_data"]), b["text"]) for b in reply.buttons]
    return [(data, label) for data, label in found if isinstance(data, callbacks.Vote)]


def button(reply, label: str) -> str:
    return next(b["callback_data"] for b in reply.buttons if b["text"] == label)


def assert_tracks_answer(reply, *, switch: bool) -> list[str]:
    """Five Spotify links, a 👍 row and a 👎 row for them, More (and the strategy switch); returns the ids."""
    ids = track_ids(reply)
    assert len(ids) == 5 and len(set(ids)) == 5, reply.text
    keyboard = reply.keyboard
    assert all(len(b["callback_data"].encode()) <= 64 for b in reply.buttons)
    assert [[b["text"] for b in row] for row in keyboard[:2]] == [[f"{e} {n}" for n in range(1, 6)] for e in "👍👎"]
    pressed = votes(reply)
    assert [(v.track_id, v.value) for v, _ in pressed] == [(t, value) for value in (1, -1) for t in ids]
    labels = [b["text"] for b in keyboard[2]]
    assert labels[0] == "More" and len(keyboard) == 3
    assert (len(labels) == 2 and labels[1] in STRATEGY_LABEL.values()) if switch else labels == ["More"]
    return ids


def switch_label(reply) -> str:
    """The label of the strategy switch (beside More)."""
    return reply.keyboard[2][1]["text"]


def feedback_rows(store: Store, user: int) -> list[tuple]:
    uid = store.find_user_id("telegram", str(user))
    with store.engine.connect() as conn:
        return conn.execute(text("SELECT event_id, track_id, value FROM feedback WHERE user_id = :u"),
                            {"u": uid}).all()


async def send_photo(tg: FakeTelegram, user: int, jpeg: bytes):
    tg.send_photo(user, jpeg, 512, 512)
    return await tg.next_reply(user, timeout=WAIT)
