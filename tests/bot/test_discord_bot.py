"""The Discord adapter end to end: the real discord.py client (through ``serve``) talking HTTP and WebSocket to
tests/fakes/discord_server.py on loopback, with the real pipeline and a real SQLite file behind ChatService.

One client for the module (one event loop): each test pushes gateway events and reads what the client sent.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from types import SimpleNamespace

import discord
import pytest
import pytest_asyncio
from discord.gateway import DiscordWebSocket
from discord.http import Route
from pydantic import SecretStr

from bot import callbacks
from bot.callbacks import More, PickMood, SwitchStrategy, Vote
from bot.discord_bot import serve
from bot.service import ChatService
from core import errors, messages
from core.settings import Settings
from db.store import Store
from tests.fakes.discord_server import EPHEMERAL, FakeDiscord, Recorded

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(120)]

EMOTIONS = tuple(messages.EMOJI)  # the seven emotion words
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


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bot(pipeline, tmp_path_factory):
    """The fake Discord, and the real client connected to it through ``serve``."""
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
        state.task = asyncio.create_task(serve(settings, service, state.stop))
        await asyncio.wait_for(_race(fake.wait_identified(len(fake.identifies) + 1), state.task), WAIT)

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
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


async def _race(waiting, client_task: asyncio.Task) -> None:
    """Wait for ``waiting`` unless the client stops first (then its exception is the error)."""
    waiter = asyncio.ensure_future(waiting)
    done, _ = await asyncio.wait({waiter, client_task}, return_when=asyncio.FIRST_COMPLETED)
    if waiter not in done:
        waiter.cancel()
        client_task.result()
        raise AssertionError("the Discord client stopped")
    waiter.result()


# --- helpers -----------------------------------------------------------------------------------------------------
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


# --- tests -----------------------------------------------------------------------------------------------------
async def test_login_syncs_the_command_tree_and_connects_to_the_gateway_the_api_names(bot):
    fake = bot.fake
    put = [r for r in fake.requests if r.method == "PUT" and r.path == f"/applications/{fake.app_id}/commands"]
    assert len(put) == 1 and put[0].authorized
    mood = next(c for c in put[0].json if c["name"] == "mood")
    options = {o["name"]: o for o in mood["options"]}
    assert options["photo"]["type"] == 11 and not options["photo"].get("required")
    assert [c["value"] for c in options["mood"]["choices"]] == ["Happy", "Sad", "Energetic", "Calm"]
    assert any(r.path == "/gateway/bot" for r in fake.requests)
    assert fake.gateway_queries[0]["v"] == "10" and fake.gateway_queries[0]["encoding"] == "json"
    wanted = discord.Intents(message_content=True, dm_messages=True).value
    assert fake.identifies[0]["intents"] & wanted == wanted


async def test_photo_command_defers_then_answers_with_an_embed_and_buttons(bot, astronaut_jpeg):
    attachment, callback, sent = await send_photo(bot, "selfie.jpg", astronaut_jpeg)
    assert callback.json["type"] == 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE ("thinking")
    assert any(path.endswith(f"/{attachment['id']}/selfie.jpg") for path in bot.fake.downloads)
    message = sent.response
    title = message["embeds"][0]["title"].lower()
    assert any(emotion in title for emotion in EMOTIONS), title
    assert_tracks(message)
    assert any(isinstance(p, SwitchStrategy) for p in payloads(message))  # photo answers offer the other strategy
    bot.photo_answer = message


async def test_thumbs_up_then_down_stores_one_vote_that_changes(bot):
    message = bot.photo_answer
    vote_up = next(b["custom_id"] for b in buttons(message) if b.get("emoji", {}).get("name") == "👍")
    track_id = callbacks.decode(vote_up).track_id

    callback, sent = await press(bot, message, vote_up)
    assert callback.json["type"] == 5 and callback.json["data"]["flags"] & EPHEMERAL
    assert sent.json["content"].startswith("👍") and sent.json["flags"] & EPHEMERAL
    assert feedback_rows(bot) == [(track_id, 1)]

    vote_down = callbacks.encode(Vote(callbacks.decode(vote_up).event_id, track_id, -1))
    _, sent = await press(bot, message, vote_down)
    assert sent.json["content"].startswith("👎")
    assert feedback_rows(bot) == [(track_id, -1)]


async def test_more_sends_five_new_tracks(bot):
    message = bot.photo_answer
    more = next(b["custom_id"] for b in buttons(message) if isinstance(callbacks.decode(b["custom_id"]), More))
    callback, sent = await press(bot, message, more)
    assert callback.json["type"] == 5
    new = assert_tracks(sent.response)
    assert not set(new) & set(links(message))


async def test_mood_choice_and_every_kind_of_bad_photo(bot, astronaut_jpeg, coffee_jpeg):
    _, sent = await slash(bot, "mood", options=[{"name": "mood", "type": 3, "value": "Sad"}])
    assert "Sad" in sent.response["embeds"][0]["title"]
    assert_tracks(sent.response)

    big, _, sent = await send_photo(bot, "huge.jpg", b"\xff\xd8 not really 25 MB", size=25 * 1024 * 1024)
    assert sent.json["content"] == messages.friendly_rejection(errors.ImageTooLarge())
    assert not any(big["id"] in path for path in bot.fake.downloads)  # refused before any download

    text, _, sent = await send_photo(bot, "notes.txt", b"dear diary", content_type="text/plain; charset=utf-8")
    assert sent.json["content"] == messages.friendly_rejection(errors.NotAnImage())
    assert not any(text["id"] in path for path in bot.fake.downloads)

    _, _, sent = await send_photo(bot, "coffee.jpg", coffee_jpeg)
    assert sent.json["content"] == messages.NO_FACE
    pick_calm = callbacks.encode(PickMood("Calm"))
    assert pick_calm in [b["custom_id"] for b in buttons(sent.response)]  # "pick a mood yourself"
    _, picked = await press(bot, sent.response, pick_calm)
    assert "Calm" in picked.response["embeds"][0]["title"]
    assert_tracks(picked.response)

    _, _, sent = await send_photo(bot, "selfie-again.jpg", astronaut_jpeg)
    assert_tracks(sent.response)


async def test_photo_in_a_direct_message_gets_a_reply_with_tracks(bot, astronaut_jpeg):
    fake, since = bot.fake, bot.fake.mark()
    attachment = fake.add_attachment(bot.channel["id"], "me.jpg", astronaut_jpeg, "image/jpeg")
    incoming = fake.dm_message(bot.user, bot.channel, attachments=[attachment])
    await fake.dispatch("MESSAGE_CREATE", incoming)
    reply = await fake.wait_request(
        lambda r: r.method == "POST" and r.path == f"/channels/{bot.channel['id']}/messages", since=since,
        timeout=WAIT)
    assert str(reply.json["message_reference"]["message_id"]) == incoming["id"]
    assert reply.json["allowed_mentions"]["parse"] == []
    assert_tracks(reply.response)


async def test_in_a_server_only_a_message_that_mentions_the_bot_is_answered(bot, astronaut_jpeg):
    fake, since = bot.fake, bot.fake.mark()
    guild_id, channel_id = str(fake.snowflake()), str(fake.snowflake())
    chatter = fake.guild_message(bot.user, guild_id, channel_id, "nice weather")
    attachment = fake.add_attachment(channel_id, "me.png", astronaut_jpeg, None)  # no content type: read it
    mention = fake.guild_message(bot.user, guild_id, channel_id, "what should I listen to?",
                                 attachments=[attachment], mention_bot=True)
    await fake.dispatch("MESSAGE_CREATE", chatter)
    await fake.dispatch("MESSAGE_CREATE", mention)
    reply = await fake.wait_request(lambda r: r.method == "POST" and r.path == f"/channels/{channel_id}/messages",
                                    since=since, timeout=WAIT)
    assert str(reply.json["message_reference"]["message_id"]) == mention["id"]
    assert_tracks(reply.response)
    replies = [r for r in fake.requests[since:] if r.path == f"/channels/{channel_id}/messages"]
    assert len(replies) == 1  # the chatter before it got nothing


async def test_forged_and_stale_buttons_get_the_stale_answer(bot):
    forged = {**bot.photo_answer, "components": [{"type": 1, "components": [
        {"type": 2, "style": 2, "label": "x", "custom_id": cid}
        for cid in ("x|forged", "v|999999999|AAAAAAAAAAAAAAAAAAAAAA|+", "m|999999999")]}]}

    callback, _ = await press(bot, forged, "x|forged", followup=False)
    assert callback.json["type"] == 4  # answered at once, privately
    assert callback.json["data"]["content"] == messages.STALE_BUTTON
    assert callback.json["data"]["flags"] & EPHEMERAL

    _, sent = await press(bot, forged, "v|999999999|AAAAAAAAAAAAAAAAAAAAAA|+")  # no such event
    assert sent.json["content"] == messages.STALE_BUTTON
    _, sent = await press(bot, forged, "m|999999999")
    assert sent.json["content"] == messages.STALE_BUTTON

    _, sent = await slash(bot, "mood", options=[{"name": "mood", "type": 3, "value": "Happy"}])
    assert_tracks(sent.response)  # still answering


async def test_a_failure_is_logged_and_the_user_gets_an_apology(bot, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the recommender fell over")

    for method in ("handle_mood", "handle_more", "handle_photo"):
        monkeypatch.setattr(bot.service, method, broken)

    _, sent = await slash(bot, "mood", options=[{"name": "mood", "type": 3, "value": "Calm"}])
    assert sent.json["content"] == messages.SOMETHING_WENT_WRONG
    assert any("/mood failed: RuntimeError" in line for line in bot.capture.lines)

    more = callbacks.encode(More(callbacks.decode(buttons(bot.photo_answer)[0]["custom_id"]).event_id))
    _, sent = await press(bot, bot.photo_answer, more)
    assert sent.json["content"] == messages.SOMETHING_WENT_WRONG and sent.json["flags"] & EPHEMERAL
    assert any("button More failed: RuntimeError" in line for line in bot.capture.lines)

    fake, since = bot.fake, bot.fake.mark()
    attachment = fake.add_attachment(bot.channel["id"], "me.jpg", b"\xff\xd8", "image/jpeg")
    await fake.dispatch("MESSAGE_CREATE", fake.dm_message(bot.user, bot.channel, attachments=[attachment]))
    reply = await fake.wait_request(lambda r: r.path == f"/channels/{bot.channel['id']}/messages", since=since,
                                    timeout=WAIT)
    assert reply.json["content"] == messages.SOMETHING_WENT_WRONG
    assert any("discord: on_message failed" in line for line in bot.capture.lines)


async def test_buttons_keep_working_after_a_restart(bot):
    await bot.stop_client()
    await bot.start()
    assert len(bot.fake.identifies) == 2
    message = bot.photo_answer  # sent by the previous client
    more = next(b["custom_id"] for b in buttons(message) if isinstance(callbacks.decode(b["custom_id"]), More))
    _, sent = await press(bot, message, more)
    assert_tracks(sent.response)


async def test_a_wrong_token_fails_login(bot):
    settings = bot.settings.model_copy(update={"discord_token": SecretStr("not-the-token")})
    with pytest.raises(discord.LoginFailure):
        await asyncio.wait_for(serve(settings, bot.service, asyncio.Event()), WAIT)


async def test_the_token_never_appears_in_the_logs(bot):
    await bot.stop_client()
    assert (Route.BASE, str(DiscordWebSocket.DEFAULT_GATEWAY)) == ("https://discord.com/api/v10",
                                                                   "wss://gateway.discord.gg/")  # restored
    text = "\n".join(bot.capture.lines)
    assert "logging in using static token" in text and "READY" in text  # the capture saw the whole run
    assert bot.fake.token not in text
    deliberate = ("/mood failed: RuntimeError", "button More failed: RuntimeError", "discord: on_message failed")
    unexpected = [line for line in bot.capture.lines if line.split(" ", 2)[1] in ("ERROR", "CRITICAL")
                  and not line.split("\n")[0].endswith(deliberate)]
    assert not unexpected  # no "Ignoring exception ..." from discord.py anywhere in the run
