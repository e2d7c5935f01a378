"""Discord rate limits: a 429 (``retry_after`` in the body, ``X-RateLimit-*`` headers, as Discord sends it) is
waited out by discord.py itself and the answer still arrives exactly once.

The real client (the ``bot`` fixture of tests/bot/conftest.py) talks to tests/fakes/discord_server.py on loopback,
with the real pipeline and a real SQLite file behind ChatService; the 429s are injected with
``FakeDiscord.fail_next``."""

from __future__ import annotations

import sqlite3

import pytest

from moodtunes.bot import callbacks
from moodtunes.bot.callbacks import Vote
from tests.fakes.discord_server import FakeDiscord, Recorded

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(120)]

WAIT = 30  # seconds: the bound on every wait
QUIET = 1.0  # seconds to wait for a duplicate that must not come


def requests_to(fake: FakeDiscord, method: str, path: str, since: int) -> list[Recorded]:
    return [r for r in fake.requests[since:] if r.method == method and r.path == path]


async def mood_answer(bot, mood: str) -> dict:
    """A /mood answer delivered without any fault (its buttons are what the next test presses)."""
    fake, since = bot.fake, bot.fake.mark()
    payload = fake.command_interaction(bot.user, bot.channel, "mood", options=[{"name": "mood", "type": 3,
                                                                                "value": mood}])
    await fake.dispatch("INTERACTION_CREATE", payload)
    path = f"/webhooks/{fake.app_id}/{payload['token']}"
    sent = await fake.wait_request(lambda r: r.method == "POST" and r.path == path, since=since, timeout=WAIT)
    return sent.response


async def interact(bot, payload: dict, *, retry_after: float) -> tuple[Recorded, Recorded]:
    """Push an interaction whose first followup POST gets a 429; return (the refused POST, the delivered one),
    after checking nothing else was posted to the followup webhook."""
    fake, since = bot.fake, bot.fake.mark()
    path = f"/webhooks/{fake.app_id}/{payload['token']}"
    fake.fail_next("POST", path, retry_after=retry_after)
    await fake.dispatch("INTERACTION_CREATE", payload)
    delivered = await fake.wait_request(lambda r: r.method == "POST" and r.path == path and r.status == 200,
                                        since=since, timeout=WAIT)
    await fake.expect_no_request(lambda r: r.method == "POST" and r.path == path,
                                 since=fake.requests.index(delivered) + 1, within=QUIET)
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


async def test_a_429_on_a_vote_toast_stores_one_vote_and_answers_once(bot):
    answer = await mood_answer(bot, "Calm")
    vote = next(v for v in (callbacks.decode(c["custom_id"]) for row in answer["components"]
                            for c in row["components"]) if isinstance(v, Vote) and v.value == -1)
    payload = bot.fake.component_interaction(bot.user, bot.channel, answer, callbacks.encode(vote))
    refused, delivered = await interact(bot, payload, retry_after=0.5)
    assert delivered.at - refused.at >= 0.5
    assert delivered.json["content"].startswith("👎")
    with sqlite3.connect(bot.db_path) as db:
        assert db.execute("SELECT event_id, track_id, value FROM feedback WHERE event_id = ?",
                          (vote.event_id,)).fetchall() == [(vote.event_id, vote.track_id, -1)]


@pytest.mark.parametrize("is_global", [False, True], ids=["bucket", "global"])
async def test_a_429_on_a_channel_reply_is_waited_out_and_the_reply_arrives_once(bot, is_global):
    """Replies in a DM go through discord.py's HTTPClient (bucket headers, global limit), not the webhook."""
    fake, since = bot.fake, bot.fake.mark()
    path = f"/channels/{bot.channel['id']}/messages"
    fake.fail_next("POST", path, retry_after=0.5, is_global=is_global)
    await fake.dispatch("MESSAGE_CREATE", fake.dm_message(bot.user, bot.channel, "hi"))
    delivered = await fake.wait_request(lambda r: r.path == path and r.status == 200, since=since, timeout=WAIT)
    await fake.expect_no_request(lambda r: r.path == path, since=fake.requests.index(delivered) + 1, within=QUIET)
    posts = requests_to(fake, "POST", path, since)
    assert [r.status for r in posts] == [429, 200]
    assert posts[1].at - posts[0].at >= 0.5
    assert "/mood" in posts[1].json["content"]  # the help text
