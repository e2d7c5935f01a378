"""Helpers for the Discord suites: interactions pushed through the fake gateway, and what an answer must look
like."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3

from moodtunes.bot import callbacks
from moodtunes.bot.callbacks import More, Vote
from tests.fakes.discord_server import Recorded

TRACK_LINK = re.compile(r"https://open\.spotify\.com/track/([0-9A-Za-z]{22})")
WAIT = 30  # seconds: the bound on every wait


class Capture(logging.Handler):
    """Every log line of the run, formatted with tracebacks, to search for the token."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def race(waiting, client_task: asyncio.Task) -> None:
    """Wait for ``waiting`` unless the client stops first (then its exception is the error)."""
    waiter = asyncio.ensure_future(waiting)
    done, _ = await asyncio.wait({waiter, client_task}, return_when=asyncio.FIRST_COMPLETED)
    if waiter not in done:
        waiter.cancel()
        client_task.result()
        raise AssertionError("the Discord client stopped")
    waiter.result()


async def interact(bot, payload: dict, *, followup: bool = True) -> tuple[Recorded, Recorded | None]:
    """Push an INTERACTION_CREATE; return the interaction callback and (if expected) the first followup."""
    fake, since = bot.fake, bot.fake.mark()
    token = payload["token"]
    await fake.dispatch("INTERACTION_CREATE", payload)
    callback = await fake.wait_request(lambda r: r.path == f"/interactions/{payload['id']}/{token}/callback",
                                       since=since, timeout=WAIT)
    if not followup:
        return callback, None
    sent = await fake.wait_request(lambda r: r.method == "POST" and r.path == f"/webhooks/{fake.app_id}/{token}",
                                   since=since, timeout=WAIT)
    return callback, sent


async def slash(bot, name: str, *, options: list[dict] | None = None, attachments: list[dict] = ()):
    payload = bot.fake.command_interaction(bot.user, bot.channel, name, options=options, attachments=attachments)
    return await interact(bot, payload)


async def press(bot, message: dict, custom_id: str, *, followup: bool = True):
    payload = bot.fake.component_interaction(bot.user, bot.channel, message, custom_id)
    return await interact(bot, payload, followup=followup)


async def send_photo(bot, filename: str, data: bytes, content_type: str | None = "image/jpeg",
                     size: int | None = None):
    attachment = bot.fake.add_attachment(bot.channel["id"], filename, data, content_type, size=size)
    callback, sent = await slash(bot, "mood", options=[{"name": "photo", "type": 11, "value": attachment["id"]}],
                                 attachments=[attachment])
    return attachment, callback, sent


def links(message: dict) -> list[str]:
    return TRACK_LINK.findall(message["embeds"][0]["description"])


def buttons(message: dict) -> list[dict]:
    return [c for row in message["components"] for c in row["components"]]


def payloads(message: dict) -> list[callbacks.Callback]:
    return [callbacks.decode(b["custom_id"]) for b in buttons(message)]


def assert_tracks(message: dict) -> list[str]:
    """An answer with exactly five Spotify track links and 👍/👎 for each of them plus More; the track ids."""
    assert message["embeds"], message
    track_ids = links(message)
    assert len(track_ids) == 5 and len(set(track_ids)) == 5
    shown = payloads(message)
    event_ids = {p.event_id for p in shown if isinstance(p, (Vote, More))}
    assert len(event_ids) == 1
    assert {(p.track_id, p.value) for p in shown if isinstance(p, Vote)} == {(t, v) for t in track_ids
                                                                             for v in (1, -1)}
    assert sum(isinstance(p, More) for p in shown) == 1
    emojis = [b.get("emoji", {}).get("name") for b in buttons(message)]
    assert emojis.count("👍") == 5 and emojis.count("👎") == 5
    return track_ids


def feedback_rows(bot) -> list[tuple]:
    with sqlite3.connect(bot.db_path) as db:
        return db.execute("SELECT track_id, value FROM feedback").fetchall()
