"""Telegram misbehaving: 429 Too Many Requests with ``retry_after`` and 5xx server errors are retried and nothing
is lost or sent twice; requests Telegram refuses (400) are not retried; an unexpected exception in a handler
reaches the error handler and the user gets an apology.

The real application (through ``serve``) polls tests/fakes/telegram_server.py on loopback, with the real pipeline
and a real SQLite file; faults are injected with ``FakeTelegram.fail_next``."""

from __future__ import annotations

import asyncio
import logging

import pytest
import pytest_asyncio
from sqlalchemy import text

from moodtunes.bot import callbacks
from moodtunes.bot.callbacks import More, Vote
from moodtunes.bot.telegram_bot import serve
from moodtunes.core import messages
from moodtunes.core.settings import Settings
from tests.fakes.telegram_server import ApiCall, FakeTelegram
from tests.helpers import capture_logs

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(180)]

WAIT = 30  # seconds: the longest any single reply may take
QUIET = 1.5  # seconds to wait for a duplicate that must not come (longer than the retry backoff's first step)


@pytest.fixture(scope="module")
def log_records():
    with capture_logs("moodtunes.telegram") as records:
        yield records


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def tg(log_records, tg_service, tmp_path_factory):
    """The fake Bot API with the real application polling it, for the whole module."""
    fake = await FakeTelegram(poll_wait=0.3).start()
    settings = Settings(_env_file=None, data_dir=tmp_path_factory.mktemp("tgfaultsdata"), user_id_salt="test-salt",
                        telegram_token=fake.token, telegram_base_url=fake.base_url,
                        telegram_base_file_url=fake.base_file_url)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, tg_service, stop))
    polling = asyncio.ensure_future(fake.wait_for("getUpdates", timeout=WAIT))
    done, _ = await asyncio.wait({task, polling}, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
    if polling not in done:
        polling.cancel()
        if task.done():
            task.result()  # raises the bot's startup error
        pytest.fail("the bot did not start in time")
    yield fake
    stop.set()
    await asyncio.wait_for(task, WAIT)
    await fake.stop()


def messages_to(tg: FakeTelegram, chat_id: int) -> list[ApiCall]:
    return [c for c in tg.calls if c.method in ("sendMessage", "sendDocument") and c.chat_id == chat_id]


def faults_of(tg: FakeTelegram, method: str, chat_id: int | None = None) -> list[ApiCall]:
    return [c for c in tg.injected if c.method == method and (chat_id is None or c.chat_id == chat_id)]


async def only_reply(tg: FakeTelegram, chat_id: int) -> ApiCall:
    """The one message to ``chat_id``: waits for it, then makes sure no second one follows."""
    reply = await tg.next_reply(chat_id, timeout=WAIT)
    await tg.expect_no_call("sendMessage", lambda c: c.chat_id == chat_id, since=tg.calls.index(reply) + 1,
                            within=QUIET)
    sent = messages_to(tg, chat_id)
    assert sent == [reply], [c.text[:60] for c in sent]
    return reply


# --- 429 -----------------------------------------------------------------------------------------------------
async def test_429_retry_after_is_waited_out_and_the_reply_arrives_once(tg):
    user = 1001
    tg.fail_next("sendMessage", 429, retry_after=1)
    tg.send_text(user, "/help")
    reply = await only_reply(tg, user)
    assert "/mood" in reply.text
    [refused] = faults_of(tg, "sendMessage", user)
    assert reply.at - refused.at >= 1.0  # Telegram's retry_after was respected


async def test_429_on_a_photo_answer_loses_nothing(tg, tg_store, astronaut_jpeg):
    user = 1002
    tg.fail_next("sendMessage", 429, retry_after=1)
    tg.send_photo(user, astronaut_jpeg, 512, 512)
    reply = await only_reply(tg, user)
    assert "You look" in reply.text and len(reply.buttons) == 12
    uid = tg_store.user_id("telegram", str(user))
    assert len(tg_store.history(uid)) == 1  # one answer, one event


# --- 5xx -----------------------------------------------------------------------------------------------------
async def test_502_then_500_are_retried_and_the_reply_arrives_once(tg, astronaut_jpeg):
    user = 1003
    tg.fail_next("sendMessage", 502)  # an HTML page from the front proxy
    tg.fail_next("sendMessage", 500)  # a JSON error from the Bot API
    tg.send_photo(user, astronaut_jpeg, 512, 512)
    reply = await only_reply(tg, user)
    assert "You look" in reply.text
    assert [c.error for c in faults_of(tg, "sendMessage", user)] == ["injected 502", "injected 500"]


async def test_5xx_on_a_button_answer_still_answers_once_and_stores_one_vote(tg, tg_store, astronaut_jpeg):
    user = 1004
    tg.send_photo(user, astronaut_jpeg, 512, 512)
    reply = await tg.next_reply(user, timeout=WAIT)
    vote = next(v for v in map(callbacks.decode, (b["callback_data"] for b in reply.buttons))
                if isinstance(v, Vote) and v.value == 1)

    tg.fail_next("answerCallbackQuery", 500)
    query = tg.press(user, callbacks.encode(vote), reply)
    toast = await tg.answer_of(query, timeout=WAIT)
    assert toast.params["text"].startswith("👍")
    await tg.expect_no_call("answerCallbackQuery", lambda c: c.params["callback_query_id"] == query,
                            since=tg.calls.index(toast) + 1, within=QUIET)
    assert len(tg.calls_of("answerCallbackQuery", lambda c: c.params["callback_query_id"] == query)) == 1
    with tg_store.engine.connect() as conn:
        rows = conn.execute(text("SELECT event_id, track_id, value FROM feedback WHERE user_id = :u"),
                            {"u": tg_store.user_id("telegram", str(user))}).all()
    assert rows == [(vote.event_id, vote.track_id, 1)]

    tg.fail_next("sendMessage", 502)
    tg.press(user, callbacks.encode(More(vote.event_id)), reply)
    more = await tg.next_reply(user, timeout=WAIT)
    assert more.text.startswith("More ")
    await tg.expect_no_call("sendMessage", lambda c: c.chat_id == user, since=tg.calls.index(more) + 1,
                            within=QUIET)
    assert messages_to(tg, user)[-1] is more and len(messages_to(tg, user)) == 2


async def test_5xx_beyond_the_retries_ends_in_one_apology(tg, log_records):
    """Four 500s in a row exhaust the 3 retries: the handler fails, the error handler apologises once."""
    user = 1005
    tg.fail_next("sendMessage", 500, times=4)
    tg.send_text(user, "/help")
    reply = await only_reply(tg, user)
    assert reply.text == messages.SOMETHING_WENT_WRONG
    assert len(faults_of(tg, "sendMessage", user)) == 4
    assert any(r.getMessage().startswith("telegram sendMessage failed (NetworkError); retry 3/3")
               for r in log_records)


async def test_400_is_not_retried(tg):
    """A request Telegram refuses (here getFile for an unknown file) fails at once: one call, one apology."""
    user = 1006
    bad = {"file_id": "NO-SUCH-FILE-1006", "file_unique_id": "nope", "width": 512, "height": 512,
           "file_size": 1000}
    tg.push_update({"message": {"message_id": 1, "date": 0, "from": tg.user(user),
                                "chat": {"id": user, "type": "private"}, "photo": [bad]}})
    reply = await only_reply(tg, user)
    assert reply.text == messages.SOMETHING_WENT_WRONG
    assert len(tg.calls_of("getFile", lambda c: c.params.get("file_id") == bad["file_id"])) == 1


# --- unexpected exceptions -----------------------------------------------------------------------------------
@pytest.fixture
def broken_service(tg_service, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the recommender fell over")

    for method in ("handle_photo", "handle_mood", "handle_more", "handle_vote"):
        monkeypatch.setattr(tg_service, method, broken)
    return tg_service


async def test_an_exception_in_a_handler_reaches_the_error_handler_and_the_user_is_answered(
        tg, broken_service, log_records, astronaut_jpeg):
    user = 1007
    before = len(log_records)
    tg.send_photo(user, astronaut_jpeg, 512, 512)
    assert (await only_reply(tg, user)).text == messages.SOMETHING_WENT_WRONG
    tg.send_text(user, "/mood sad")
    assert (await tg.next_reply(user, timeout=WAIT)).text == messages.SOMETHING_WENT_WRONG
    errors = [r for r in log_records[before:] if r.levelno == logging.ERROR]
    assert len(errors) == 2 and all("RuntimeError" in r.getMessage() for r in errors)
    assert all(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in errors)  # with the traceback

    # A button whose handler fails after query.answer() (More): the apology comes as a message.
    fake_answer = {"message_id": 77, "date": 0, "chat": {"id": user, "type": "private"}, "text": "tracks"}
    query = tg.press(user, callbacks.encode(More(1)), fake_answer)
    assert (await tg.next_reply(user, timeout=WAIT)).text == messages.SOMETHING_WENT_WRONG
    assert (await tg.answer_of(query, timeout=WAIT)).params.get("text") is None


async def test_a_failed_vote_still_answers_its_callback_query(tg, broken_service):
    user = 1008
    message = {"message_id": 78, "date": 0, "chat": {"id": user, "type": "private"}, "text": "tracks"}
    query = tg.press(user, callbacks.encode(Vote(1, "A" * 22, 1)), message)
    assert (await tg.next_reply(user, timeout=WAIT)).text == messages.SOMETHING_WENT_WRONG  # this part works
    await tg.answer_of(query, timeout=WAIT)
