"""The Telegram adapter end to end: real python-telegram-bot, polling over HTTP on loopback against a fake Bot API
(tests/fakes/telegram_server.py), the real pipeline (model + face detector) and a real SQLite file.

One application is started for the whole module; every flow uses its own Telegram user, so flows don't share
state. Log records of every logger are captured at DEBUG from before the bot is built to the last test."""

from __future__ import annotations

import asyncio
import json
import logging
import re

import aiohttp
import pytest
from sqlalchemy import text

from moodtunes.bot import callbacks
from moodtunes.bot.service import STRATEGY_LABEL
from moodtunes.bot.telegram_bot import serve
from moodtunes.core import messages
from moodtunes.core.emotions import EMOTIONS
from moodtunes.core.errors import ImageTooLarge, NotAnImage
from moodtunes.core.mood import MOODS
from tests.bot.telegram_flows import (
    TOKEN,
    TRACK_URL,
    WAIT,
    assert_tracks_answer,
    bot_settings,
    button,
    feedback_rows,
    send_photo,
    started,
    switch_label,
    votes,
)
from tests.fakes.telegram_server import FakeTelegram
from tests.helpers import free_port

pytestmark = pytest.mark.asyncio(loop_scope="module")

HOOK_TOKEN = "456:HOOKTOKEN"
HOOK_SECRET = "hook-secret-0123456789"


# --- the flows -----------------------------------------------------------------------------------------------
async def test_command_menu_is_published(tg):
    call = await tg.wait_for("setMyCommands", timeout=WAIT)
    assert [c["command"] for c in call.params["commands"]] == [
        "start", "help", "mood", "settings", "history", "mydata", "forgetme"]
    assert all(c["description"] for c in call.params["commands"])


async def test_photo_votes_more_and_switch(tg, tg_store, astronaut_jpeg):
    user = 101
    update = tg.send_photo(user, astronaut_jpeg, 512, 512)
    reply = await tg.next_reply(user, timeout=WAIT)

    emotion = re.search(r"You look (\w+)", reply.text)
    assert emotion and emotion.group(1) in EMOTIONS, reply.text
    first = assert_tracks_answer(reply, switch=True)
    assert reply.params["reply_markup"]["inline_keyboard"]  # sent as a real inline keyboard
    sizes = update["message"]["photo"]
    assert tg.file_requested(sizes[-1]["file_id"]) and not tg.file_requested(sizes[0]["file_id"])  # largest only

    # 👍 then 👎 on the first track: one row, whose value follows the last press.
    (like, _), (dislike, _) = votes(reply)[0], votes(reply)[5]  # 👍 1 and 👎 1
    query = tg.press(user, callbacks.encode(like), reply)
    toast = await tg.answer_of(query, timeout=WAIT)
    assert toast.params["text"].startswith("👍")
    assert feedback_rows(tg_store, user) == [(like.event_id, like.track_id, 1)]
    query = tg.press(user, callbacks.encode(dislike), reply)
    assert (await tg.answer_of(query, timeout=WAIT)).params["text"].startswith("👎")
    assert feedback_rows(tg_store, user) == [(like.event_id, like.track_id, -1)]

    # More: five new tracks, as a new message with its own buttons.
    query = tg.press(user, button(reply, "More"), reply)
    more = await tg.next_reply(user, timeout=WAIT)
    assert (await tg.answer_of(query, timeout=WAIT)).params.get("text") is None
    second = assert_tracks_answer(more, switch=True)
    assert not set(first) & set(second)

    # The strategy switch: five more, none shown before, under the other strategy's label.
    label = switch_label(more)
    tg.press(user, button(more, label), more)
    switched = await tg.next_reply(user, timeout=WAIT)
    third = assert_tracks_answer(switched, switch=True)
    assert switched.text.startswith(label) and not set(third) & (set(first) | set(second))


async def test_files_that_are_not_usable_photos(tg, astronaut_jpeg, coffee_jpeg):
    user = 202
    tg.send_document(user, b"%PDF-1.4 not a photo", mime_type="application/pdf", file_name="cv.pdf")
    reply = await tg.next_reply(user, timeout=WAIT)
    assert reply.text == messages.friendly_rejection(NotAnImage()) and not TRACK_URL.search(reply.text)

    update = tg.send_document(user, None, mime_type="image/jpeg", file_name="huge.jpg", file_size=25 * 1024 * 1024)
    reply = await tg.next_reply(user, timeout=WAIT)
    assert reply.text == messages.friendly_rejection(ImageTooLarge())
    assert not tg.file_requested(update["message"]["document"]["file_id"])  # refused before any download

    tg.send_document(user, b"this is text pretending to be a jpeg", mime_type="image/jpeg", file_name="x.jpg")
    reply = await tg.next_reply(user, timeout=WAIT)
    assert reply.text == messages.friendly_rejection(NotAnImage())

    reply = await send_photo(tg, user, coffee_jpeg)  # a real photo without a face
    assert reply.text == messages.NO_FACE
    assert [b["text"] for b in reply.buttons] == list(MOODS)

    # A photo the server cannot hand out: the error handler answers, the bot keeps going.
    bad = {"file_id": "NO-SUCH-FILE", "file_unique_id": "nope", "width": 512, "height": 512, "file_size": 1000}
    tg.push_update({"message": {"message_id": 1, "date": 0, "from": tg.user(user),
                                "chat": {"id": user, "type": "private"}, "photo": [bad]}})
    reply = await tg.next_reply(user, timeout=WAIT)
    assert reply.text == messages.SOMETHING_WENT_WRONG

    tg.send_document(user, astronaut_jpeg, mime_type="image/jpeg", file_name="me.jpg")  # uncompressed selfie
    assert_tracks_answer(await tg.next_reply(user, timeout=WAIT), switch=True)


async def test_moods_and_stale_buttons(tg, tg_store, astronaut_jpeg):
    user = 303
    tg.send_text(user, "/mood sad")
    reply = await tg.next_reply(user, timeout=WAIT)
    assert reply.text.startswith("Mood: Sad")
    assert_tracks_answer(reply, switch=False)

    tg.send_text(user, "/mood")
    reply = await tg.next_reply(user, timeout=WAIT)
    assert [b["text"] for b in reply.buttons] == list(MOODS)
    tg.press(user, button(reply, "Calm"), reply)
    picked = await tg.next_reply(user, timeout=WAIT)
    assert picked.text.startswith("Mood: Calm")
    assert_tracks_answer(picked, switch=False)

    tg.send_text(user, "/mood blah")
    reply = await tg.next_reply(user, timeout=WAIT)
    assert "blah" in reply.text and not TRACK_URL.search(reply.text)
    assert [b["text"] for b in reply.buttons] == list(MOODS)

    # Forged or stale payloads: a toast with the stale-button sentence, never a crash.
    for forged in ("v|999999|x|+", "zz|%$#", "v|999999|" + "A" * 22 + "|+", "d|Furious", "s|1|sideways"):
        query = tg.press(user, forged, picked)
        assert (await tg.answer_of(query, timeout=WAIT)).params["text"] == messages.STALE_BUTTON, forged
    tg.press(user, "m|999999", picked)  # well-formed More for an event that does not exist
    reply = await tg.next_reply(user, timeout=WAIT)
    assert reply.text == messages.STALE_BUTTON
    assert not feedback_rows(tg_store, user)

    assert_tracks_answer(await send_photo(tg, user, astronaut_jpeg), switch=True)  # still answering


async def test_settings_change_the_default_strategy(tg, tg_store, astronaut_jpeg):
    user = 404
    tg.send_text(user, "/settings")
    prompt = await tg.next_reply(user, timeout=WAIT)
    assert [b["text"] for b in prompt.buttons] == [STRATEGY_LABEL["match"], STRATEGY_LABEL["uplift"]]
    since = len(tg.calls)
    tg.press(user, button(prompt, STRATEGY_LABEL["uplift"]), prompt)
    edit = await tg.wait_for("editMessageText", lambda c: c.chat_id == user, since=since, timeout=WAIT)
    assert STRATEGY_LABEL["uplift"] in edit.text and edit.params["message_id"] == prompt.result["message_id"]
    assert tg_store.user_settings(tg_store.user_id("telegram", str(user)))["strategy"] == "uplift"

    reply = await send_photo(tg, user, astronaut_jpeg)
    assert STRATEGY_LABEL["uplift"] in reply.text
    assert_tracks_answer(reply, switch=True)
    assert switch_label(reply) == STRATEGY_LABEL["match"]


async def test_help_history_and_mydata(tg, tg_store):
    user = 505
    for command in ("/start", "/help", "hello there", "/nonsense"):
        tg.send_text(user, command)
        reply = await tg.next_reply(user, timeout=WAIT)
        assert "/mood" in reply.text and "/forgetme" in reply.text, command

    tg.send_text(user, "/history")
    assert "No history yet" in (await tg.next_reply(user, timeout=WAIT)).text
    tg.send_text(user, "/mood energetic")
    await tg.next_reply(user, timeout=WAIT)
    tg.send_text(user, "/history")
    assert "Energetic (picked by hand)" in (await tg.next_reply(user, timeout=WAIT)).text
    chart = await tg.wait_for("sendPhoto", lambda c: c.chat_id == user, timeout=WAIT)  # the chart, with the text
    assert chart.params["photo"]["data"].startswith(b"\x89PNG")

    tg.send_text(user, "/mydata")
    reply = await tg.next_reply(user, timeout=WAIT)
    assert reply.method == "sendMessage" and '"events"' in reply.text and "Energetic" in reply.text
    assert str(user) not in reply.text.split(":", 1)[1]  # only the salted hash of the id

    # A long history no longer fits in one message (4096): it comes as a file instead of failing.
    uid = tg_store.user_id("telegram", str(user))
    for _ in range(40):
        tg_store.record_event(uid, source="mood", emotion=None, probabilities=None, mood="Calm", strategy="match",
                              model_version="test", faces=0, track_ids=["A" * 22, "B" * 22, "C" * 22])
    tg.send_text(user, "/mydata")
    reply = await tg.next_reply(user, timeout=WAIT)
    assert reply.method == "sendDocument" and reply.params["caption"].startswith("Everything I store")
    body = reply.params["document"]["data"].decode()
    assert json.loads(body.split("\n", 1)[1])["events"].__len__() == 41


async def test_forgetme_deletes_only_after_yes(tg, tg_store, astronaut_jpeg):
    user = 606
    reply = await send_photo(tg, user, astronaut_jpeg)
    (like, _) = votes(reply)[0]
    await tg.answer_of(tg.press(user, callbacks.encode(like), reply), timeout=WAIT)
    tg.send_text(user, "/mood happy")
    await tg.next_reply(user, timeout=WAIT)
    uid = tg_store.user_id("telegram", str(user))
    events = [e.id for e in tg_store.history(uid)]
    assert len(events) == 2 and len(feedback_rows(tg_store, user)) == 1

    tg.send_text(user, "/forgetme")
    prompt = await tg.next_reply(user, timeout=WAIT)
    assert len(prompt.buttons) == 2 and "cannot be undone" in prompt.text
    since = len(tg.calls)
    tg.press(user, prompt.buttons[1]["callback_data"], prompt)  # "No"
    edit = await tg.wait_for("editMessageText", lambda c: c.chat_id == user, since=since, timeout=WAIT)
    assert "kept" in edit.text and tg_store.export_user("telegram", str(user))["user"] is not None

    tg.send_text(user, "/forgetme")
    prompt = await tg.next_reply(user, timeout=WAIT)
    since = len(tg.calls)
    tg.press(user, prompt.buttons[0]["callback_data"], prompt)  # "Yes"
    edit = await tg.wait_for("editMessageText", lambda c: c.chat_id == user, since=since, timeout=WAIT)
    assert edit.text.startswith("Done")
    with tg_store.engine.connect() as conn:
        ids = ", ".join(map(str, events))
        assert conn.execute(text("SELECT count(*) FROM users WHERE id = :u"), {"u": uid}).scalar() == 0
        assert conn.execute(text(f"SELECT count(*) FROM recommendation_events WHERE user_id = :u OR id IN ({ids})"),
                            {"u": uid}).scalar() == 0
        assert conn.execute(text(f"SELECT count(*) FROM feedback WHERE user_id = :u OR event_id IN ({ids})"),
                            {"u": uid}).scalar() == 0
    assert tg_store.export_user("telegram", str(user)) == {"user": None, "events": [], "feedback": []}


async def test_two_quick_more_presses_bring_different_tracks(tg, tg_store):
    """Defect 3: PTB handles updates concurrently, and two quick presses of More both got the same five tracks."""
    user = 707
    tg.send_text(user, "/mood happy")
    reply = await tg.next_reply(user, timeout=WAIT)
    first = assert_tracks_answer(reply, switch=False)
    more = button(reply, "More")
    tg.press(user, more, reply)
    tg.press(user, more, reply)  # before the first one is answered: both updates come in one getUpdates batch
    second = assert_tracks_answer(await tg.next_reply(user, timeout=WAIT), switch=False)
    third = assert_tracks_answer(await tg.next_reply(user, timeout=WAIT), switch=False)
    assert not set(second) & set(third)
    event = votes(reply)[0][0].event_id
    shown = tg_store.get_event(event).track_ids
    assert len(shown) == 15 and set(shown) == set(first) | set(second) | set(third)


async def test_a_vote_for_a_track_the_answer_never_showed_is_refused(tg, tg_store, tg_service):
    """Defect 6: a forged press could attach a vote for any catalog track to any answer."""
    user, friend = 808, 809
    tg.send_text(user, "/mood calm")
    reply = await tg.next_reply(user, timeout=WAIT)
    shown = assert_tracks_answer(reply, switch=False)
    event = votes(reply)[0][0].event_id
    catalog = tg_service.pipeline.recommender.catalog["id"]
    never_shown = next(t for t in catalog if t not in shown)
    for voter in (user, friend):
        forged = callbacks.encode(callbacks.Vote(event, never_shown, 1))
        toast = await tg.answer_of(tg.press(voter, forged, reply), timeout=WAIT)
        assert toast.params["text"] == messages.STALE_BUTTON
    assert not feedback_rows(tg_store, user) and tg_store.find_user_id("telegram", str(friend)) is None
    # Anyone who sees the answer (e.g. in a group) may still vote on a track it showed.
    toast = await tg.answer_of(tg.press(friend, callbacks.encode(votes(reply)[1][0]), reply), timeout=WAIT)
    assert toast.params["text"].startswith("👍")
    assert feedback_rows(tg_store, friend) == [(event, shown[1], 1)]


async def test_webhook_mode_requires_and_checks_the_secret(log_records, tg_service, tmp_path):
    async with FakeTelegram(HOOK_TOKEN) as fake:
        with pytest.raises(ValueError, match="TELEGRAM_WEBHOOK_SECRET"):
            await serve(bot_settings(fake, tmp_path), tg_service, asyncio.Event(), webhook_url="https://x/hook")

        port, stop = free_port(), asyncio.Event()
        settings = bot_settings(fake, tmp_path, telegram_webhook_secret=HOOK_SECRET, telegram_webhook_port=port)
        task = asyncio.create_task(serve(settings, tg_service, stop, webhook_url="https://bot.example/tg-hook"))
        try:
            await started(task, fake.wait_for("setWebhook", timeout=WAIT))
            assert fake.webhook["secret_token"] == HOOK_SECRET
            assert fake.webhook["allowed_updates"] == ["message", "callback_query"]
            assert fake.webhook["url"] == "https://bot.example/tg-hook"  # the public URL; served on the port
            update = {"update_id": 900_001, "message": {"message_id": 1, "date": 0, "from": fake.user(707),
                                                  "chat": {"id": 707, "type": "private"}, "text": "hello"}}
            url = f"http://127.0.0.1:{port}/tg-hook"
            async with aiohttp.ClientSession() as http:
                for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                    async with http.post(url, json=update, headers=headers) as response:
                        assert response.status == 403
                for _ in range(2):  # Telegram redelivers an update it thinks was not received
                    async with http.post(url, json=update,
                                         headers={"X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET}) as r:
                        assert r.status == 200
            assert "/mood" in (await fake.next_reply(707, timeout=WAIT)).text
            await fake.expect_no_call("sendMessage", since=len(fake.calls), within=1.0)
            # One answer: the forged posts were not processed, the redelivery was dropped.
            assert len(fake.calls_of("sendMessage")) == 1
        finally:
            stop.set()
            await asyncio.wait_for(task, WAIT)


async def test_secrets_never_reach_the_logs(tg, log_records):
    """Looks at every record the module produced so far, PTB's DEBUG lines included (last, it sees them all);
    first it makes sure an error went through the error handler, which logs the most."""
    user = 910
    bad = {"file_id": "NO-SUCH-FILE-910", "file_unique_id": "nope", "width": 512, "height": 512, "file_size": 1000}
    tg.push_update({"message": {"message_id": 1, "date": 0, "from": tg.user(user),
                                "chat": {"id": user, "type": "private"}, "photo": [bad]}})
    assert (await tg.next_reply(user, timeout=WAIT)).text == messages.SOMETHING_WENT_WRONG
    rendered = []
    for record in log_records:
        line = logging.Formatter("%(name)s %(message)s").format(record)
        rendered.append(line)
    assert any("Set Bot API URL" in line and "<redacted>" in line for line in rendered)  # PTB's DEBUG was seen
    assert any("getUpdates" in line for line in rendered)
    assert any(line.startswith("moodtunes.telegram") and "BadRequest" in line for line in rendered)  # on_error ran
    for secret in (TOKEN, HOOK_TOKEN, HOOK_SECRET):
        leaks = [line for line in rendered if secret in line]
        assert not leaks, leaks[:3]
    file_urls = [line for line in rendered if re.search(r"/file/bot(?!<redacted>)", line)]
    assert not file_urls, file_urls[:3]  # a download URL is only ever logged with the token blanked out
