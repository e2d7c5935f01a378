"""The Telegram adapter end to end: real python-telegram-bot, polling over HTTP on loopback against a fake Bot API
(tests/fakes/telegram_server.py), the real pipeline (model + face detector) and a real SQLite file.

One application is started for the whole module; every flow uses its own Telegram user, so flows don't share
state. Log records of every logger are captured at DEBUG from before the bot is built to the last test."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import text

from bot import callbacks
from bot.service import STRATEGY_LABEL, ChatService
from bot.telegram_bot import serve
from core import messages
from core.emotions import EMOTIONS
from core.errors import ImageTooLarge, NotAnImage
from core.mood import MOODS
from core.settings import Settings
from db.store import Store
from tests.conftest import capture_logs, migrated_sqlite_store
from tests.fakes.telegram_server import FakeTelegram

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOKEN = "123:TEST"
HOOK_TOKEN = "456:HOOKTOKEN"
HOOK_SECRET = "hook-secret-0123456789"
TRACK_URL = re.compile(r"https://open\.spotify\.com/track/([0-9A-Za-z]{22})")
WAIT = 30  # seconds: the longest any single reply may take


# --- fixtures ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def log_records():
    """Every log record of the module, at DEBUG (caplog would only see one test's)."""
    with capture_logs() as records:
        yield records


@pytest.fixture(scope="module")
def tg_store(tmp_path_factory) -> Store:
    store = migrated_sqlite_store(tmp_path_factory.mktemp('tg'))
    yield store
    store.close()


@pytest.fixture(scope="module")
def tg_service(pipeline, tg_store) -> ChatService:
    return ChatService(pipeline, tg_store, photos_per_minute=1000)


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


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def tg(log_records, tg_service, tmp_path_factory):
    """The fake Bot API with the real application polling it (through ``serve``), for the whole module."""
    fake = await FakeTelegram(TOKEN, poll_wait=0.3).start()
    stop = asyncio.Event()
    task = asyncio.create_task(serve(bot_settings(fake, tmp_path_factory.mktemp("tgdata")), tg_service, stop))
    await started(task, fake.wait_for("getUpdates", timeout=WAIT))
    yield fake
    stop.set()
    await asyncio.wait_for(task, WAIT)  # stops cleanly, re-raising anything serve() raised
    await fake.stop()


# --- helpers -------------------------------------------------------------------------------------------------
def track_ids(reply) -> list[str]:
    return TRACK_URL.findall(reply.text)


def votes(reply) -> list[tuple[callbacks.Vote, str]]:
    """(decoded payload, label) of every 👍/👎 button."""
    found = [(callbacks.decode(b["callback_data"]), b["text"]) for b in reply.buttons]
    return [(data, label) for data, label in found if isinstance(data, callbacks.Vote)]


def button(reply, label: str) -> str:
    return next(b["callback_data"] for b in reply.buttons if b["text"] == label)


def assert_tracks_answer(reply, *, switch: bool) -> list[str]:
    """Five Spotify links, 👍/👎 for each of them, More (and the strategy switch); returns the track ids."""
    ids = track_ids(reply)
    assert len(ids) == 5 and len(set(ids)) == 5, reply.text
    keyboard = reply.keyboard
    assert all(len(b["callback_data"].encode()) <= 64 for b in reply.buttons)
    assert [[b["text"] for b in row] for row in keyboard[:5]] == [[f"👍 {n}", f"👎 {n}"] for n in range(1, 6)]
    pressed = votes(reply)
    assert [(v.track_id, v.value) for v, _ in pressed] == [(t, value) for t in ids for value in (1, -1)]
    labels = [b["text"] for b in keyboard[5]]
    assert labels[0] == "More" and len(keyboard) == 6
    assert (len(labels) == 2 and labels[1] in STRATEGY_LABEL.values()) if switch else labels == ["More"]
    return ids


def feedback_rows(store: Store, user: int) -> list[tuple]:
    uid = store.user_id("telegram", str(user))
    with store.engine.connect() as conn:
        return conn.execute(text("SELECT event_id, track_id, value FROM feedback WHERE user_id = :u"),
                            {"u": uid}).all()


async def send_photo(tg: FakeTelegram, user: int, jpeg: bytes):
    tg.send_photo(user, jpeg, 512, 512)
    return await tg.next_reply(user, timeout=WAIT)


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
    (like, _), (dislike, _) = votes(reply)[:2]
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
    label = more.keyboard[5][1]["text"]
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
    assert reply.keyboard[5][1]["text"] == STRATEGY_LABEL["match"]


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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_webhook_mode_requires_and_checks_the_secret(log_records, tg_service, tmp_path):
    async with FakeTelegram(HOOK_TOKEN) as fake:
        with pytest.raises(ValueError, match="TELEGRAM_WEBHOOK_SECRET"):
            await serve(bot_settings(fake, tmp_path), tg_service, asyncio.Event(), webhook_url="https://x/hook")

        port, stop = free_port(), asyncio.Event()
        settings = bot_settings(fake, tmp_path, telegram_webhook_secret=HOOK_SECRET)
        task = asyncio.create_task(serve(settings, tg_service, stop, webhook_url=f"http://127.0.0.1:{port}/tg-hook",
                                         listen="127.0.0.1", port=port))
        try:
            await started(task, fake.wait_for("setWebhook", timeout=WAIT))
            assert fake.webhook["secret_token"] == HOOK_SECRET
            assert fake.webhook["allowed_updates"] == ["message", "callback_query"]
            update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "from": fake.user(707),
                                                  "chat": {"id": 707, "type": "private"}, "text": "hello"}}
            url = f"http://127.0.0.1:{port}/tg-hook"
            async with aiohttp.ClientSession() as http:
                for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                    async with http.post(url, json=update, headers=headers) as response:
                        assert response.status == 403
                async with http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET}) as r:
                    assert r.status == 200
            assert "/mood" in (await fake.next_reply(707, timeout=WAIT)).text
            assert len(fake.calls_of("sendMessage")) == 1  # the two forged posts were not processed
        finally:
            stop.set()
            await asyncio.wait_for(task, WAIT)


async def test_secrets_never_reach_the_logs(tg, log_records):
    """Runs last: looks at every record the module produced, PTB's DEBUG lines included."""
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
