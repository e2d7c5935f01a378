"""Discord rate limits: a 429 (``retry_after`` in the body, ``X-RateLimit-*`` headers, as Discord sends it) is
waited out by discord.py itself and the answer still arrives exactly once.

The real client (through ``serve``) talks to tests/fakes/discord_server.py on loopback, with the real pipeline and
a real SQLite file behind ChatService; the 429s are injected with ``FakeDiscord.fail_next``."""

from __future__ import annotations

import asyncio
import sqlite3
from types import SimpleNamespace

import pytest
import pytest_asyncio

from bot import callbacks
from bot.callbacks import Vote
from bot.discord_bot import serve
from bot.service import ChatService
from core.settings import Settings
from db.store import Store
from tests.fakes.discord_server import FakeDiscord, Recorded

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(120)]

WAIT = 30  # seconds: the bound on every wait
QUIET = 1.0  # seconds to wait for a duplicate that must not come


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(pipeline, tmp_path_factory):
    """The fake Discord, and the real client connected to it through ``serve``."""
    data_dir = tmp_path_factory.mktemp("discord-ratelimit")
    db_path = data_dir / "moodtunes.sqlite3"
    store = Store(f"sqlite:///{db_path}", salt="test-salt")
    store.upgrade()
    fake = FakeDiscord()
    await fake.start()
    settings = Settings(_env_file=None, data_dir=data_dir, user_id_salt="test-salt",
                        discord_token=fake.token, discord_api_base_url=fake.api_base)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, ChatService(pipeline, store, photos_per_minute=1000), stop))
    waiter = asyncio.ensure_future(fake.wait_identified(1, timeout=WAIT))
    done, _ = await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
    if waiter not in done:
        waiter.cancel()
        task.result()
        pytest.fail("the Discord client stopped during startup")
    waiter.result()
    user = fake.user("rita")
    try:
        yield SimpleNamespace(fake=fake, db_path=db_path, user=user, channel=fake.dm_channel(user))
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
        await fake.close()
        store.close()


def requests_to(fake: FakeDiscord, method: str, path: str, since: int) -> list[Recorded]:
    return [r for r in fake.requests[since:] if r.method == method and r.path == path]


async def interact(bot, payload: dict, *, retry_after: float) -> tuple[Recorded, Recorded]:
    """Push an interaction whose first followup POST gets a 429; return (the refused POST, the delivered one),
    after checking nothing else was posted to the followup webhook."""
    fake, since = bot.fake, bot.fake.mark()
    path = f"/webhooks/{fake.app_id}/{payload['token']}"
    fake.fail_next("POST", path, retry_after=retry_after)
    await fake.dispatch("INTERACTION_CREATE", payload)
    await fake.wait_request(lambda r: r.method == "POST" and r.path == path and r.status == 200, since=since,
                            timeout=WAIT)
    await asyncio.sleep(QUIET)
    posts = requests_to(fake, "POST", path, since)
    assert [r.status for r in posts] == [429, 200], [(r.status, r.response) for r in posts]
    return posts[0], posts[1]


async def test_a_429_on_the_followup_is_waited_out_and_the_answer_arrives_once(bot):
    payload = bot.fake.command_interaction(bot.user, bot.channel, "mood",
                                           options=[{"name": "mood", "type": 3, "value": "Sad"}])
    refused, delivered = await interact(bot, payload, retry_after=0.75)
    assert refused.response["retry_after"] == 0.75
    assert delivered.at - refused.at >= 0.75  # after the delay Discord asked for
    assert delivered.json == refused.json  # the same message, sent again
    assert "Sad" in delivered.response["embeds"][0]["title"]
    bot.answer = delivered.response


async def test_a_429_on_a_vote_toast_stores_one_vote_and_answers_once(bot):
    vote = next(v for v in (callbacks.decode(c["custom_id"]) for row in bot.answer["components"]
                            for c in row["components"]) if isinstance(v, Vote) and v.value == -1)
    payload = bot.fake.component_interaction(bot.user, bot.channel, bot.answer, callbacks.encode(vote))
    refused, delivered = await interact(bot, payload, retry_after=0.5)
    assert delivered.at - refused.at >= 0.5
    assert delivered.json["content"].startswith("👎")
    with sqlite3.connect(bot.db_path) as db:
        assert db.execute("SELECT event_id, track_id, value FROM feedback").fetchall() == [
            (vote.event_id, vote.track_id, -1)]


@pytest.mark.parametrize("is_global", [False, True], ids=["bucket", "global"])
async def test_a_429_on_a_channel_reply_is_waited_out_and_the_reply_arrives_once(bot, is_global):
    """Replies in a DM go through discord.py's HTTPClient (bucket headers, global limit), not the webhook."""
    fake, since = bot.fake, bot.fake.mark()
    path = f"/channels/{bot.channel['id']}/messages"
    fake.fail_next("POST", path, retry_after=0.5, is_global=is_global)
    await fake.dispatch("MESSAGE_CREATE", fake.dm_message(bot.user, bot.channel, "hi"))
    await fake.wait_request(lambda r: r.path == path and r.status == 200, since=since, timeout=WAIT)
    await asyncio.sleep(QUIET)
    posts = requests_to(fake, "POST", path, since)
    assert [r.status for r in posts] == [429, 200]
    assert posts[1].at - posts[0].at >= 0.5
    assert "/mood" in posts[1].json["content"]  # the help text
