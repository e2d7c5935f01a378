"""The Discord adapter end to end: the real discord.py client (through ``serve``) talking HTTP and WebSocket to
tests/fakes/discord_server.py on loopback, with the real pipeline and a real SQLite file behind ChatService.

One client for the module (one event loop): each test pushes gateway events and reads what the client sent.
"""

from __future__ import annotations

import asyncio

import discord
import pytest
import pytest_asyncio
from discord.gateway import DiscordWebSocket
from discord.http import Route
from pydantic import SecretStr

from moodtunes.bot import callbacks
from moodtunes.bot.callbacks import More, PickMood, SwitchStrategy, Vote
from moodtunes.bot.discord_bot import serve
from moodtunes.core import errors, messages
from tests.bot.discord_flows import (
    WAIT,
    assert_tracks,
    buttons,
    feedback_rows,
    links,
    payloads,
    press,
    send_photo,
    slash,
)
from tests.fakes.discord_server import EPHEMERAL

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(120)]

EMOTIONS = tuple(messages.EMOJI)  # the seven emotion words


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def photo_answer(bot, astronaut_jpeg) -> dict:
    """A photo answer (its buttons) for the tests that press them; each test may run alone."""
    _, _, sent = await send_photo(bot, "answer.jpg", astronaut_jpeg)
    assert_tracks(sent.response)
    return sent.response


# --- tests -----------------------------------------------------------------------------------------------------
async def test_login_syncs_the_command_tree_and_connects_to_the_gateway_the_api_names(bot):
    fake = bot.fake
    put = [r for r in fake.requests if r.method == "PUT" and r.path == f"/applications/{fake.app_id}/commands"]
    assert put and all(p.authorized and p.json == put[0].json for p in put)  # once per login, always the same
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


async def test_thumbs_up_then_down_stores_one_vote_that_changes(bot, photo_answer):
    message = photo_answer
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


async def test_more_sends_five_new_tracks(bot, photo_answer):
    message = photo_answer
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


async def test_forged_and_stale_buttons_get_the_stale_answer(bot, photo_answer):
    forged = {**photo_answer, "components": [{"type": 1, "components": [
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


async def test_mydata_too_long_for_one_message_comes_as_a_file(bot):
    user_id = bot.service.store.user_id("discord", bot.user["id"])
    for _ in range(40):
        bot.service.store.record_event(user_id, source="mood", emotion=None, probabilities=None, mood="Calm",
                                       strategy="match", model_version="test", faces=0,
                                       track_ids=["A" * 22, "B" * 22, "C" * 22])
    callback, sent = await slash(bot, "mydata")
    assert callback.json["data"]["flags"] & EPHEMERAL
    assert sent.files == ["moodtunes.txt"] and sent.json["content"].startswith("Everything I store about you")
    assert len(sent.json["content"]) <= 2000


async def test_a_failure_is_logged_and_the_user_gets_an_apology(bot, photo_answer, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the recommender fell over")

    for method in ("handle_mood", "handle_more", "handle_photo"):
        monkeypatch.setattr(bot.service, method, broken)

    _, sent = await slash(bot, "mood", options=[{"name": "mood", "type": 3, "value": "Calm"}])
    assert sent.json["content"] == messages.SOMETHING_WENT_WRONG
    assert any("/mood failed: RuntimeError" in line for line in bot.capture.lines)

    more = callbacks.encode(More(callbacks.decode(buttons(photo_answer)[0]["custom_id"]).event_id))
    _, sent = await press(bot, photo_answer, more)
    assert sent.json["content"] == messages.SOMETHING_WENT_WRONG and sent.json["flags"] & EPHEMERAL
    assert any("button More failed: RuntimeError" in line for line in bot.capture.lines)

    fake, since = bot.fake, bot.fake.mark()
    attachment = fake.add_attachment(bot.channel["id"], "me.jpg", b"\xff\xd8", "image/jpeg")
    await fake.dispatch("MESSAGE_CREATE", fake.dm_message(bot.user, bot.channel, attachments=[attachment]))
    reply = await fake.wait_request(lambda r: r.path == f"/channels/{bot.channel['id']}/messages", since=since,
                                    timeout=WAIT)
    assert reply.json["content"] == messages.SOMETHING_WENT_WRONG
    assert any("discord: on_message failed" in line for line in bot.capture.lines)


async def test_buttons_keep_working_after_a_restart(bot, photo_answer):
    identified = len(bot.fake.identifies)
    await bot.stop_client()
    await bot.start()
    assert len(bot.fake.identifies) == identified + 1
    message = photo_answer  # sent by the previous client
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
    await bot.start()  # connected again, for any test after this one
