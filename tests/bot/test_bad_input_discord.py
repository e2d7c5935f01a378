"""The bad-input corpus (tests/bad_inputs.py) sent to the real discord.py client through the fake REST API and
gateway on loopback: every case as a ``/mood photo:`` attachment; then an unknown mood, forged and stale
custom_ids, and a normal photo afterwards.

The client, its store and the log capture are the ``bot`` fixture of tests/bot/conftest.py (started once for
this module)."""

from __future__ import annotations

import re

import pytest
import pytest_asyncio

from moodtunes.bot import callbacks
from moodtunes.core import messages
from moodtunes.core.mood import MOODS
from tests.bad_inputs import (
    FORGED_PAYLOADS,
    GROUP,
    GROUP_SENTENCE,
    SPOTIFY_TRACK,
    UNKNOWN_MOOD,
    DiskSnapshot,
    bad_inputs,
    case_ids,
)
from tests.bot.discord_flows import WAIT, assert_tracks, buttons, payloads
from tests.fakes.discord_server import EPHEMERAL

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(120)]

CASES = bad_inputs()
TRACK = re.compile(SPOTIFY_TRACK)
NOT_DOWNLOADED = ("25-megabytes", "not-an-image-pdf")  # refused from the announced size / content type


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def snapshot(bot, tmp_path_factory):
    """Files before the first case: the client is connected, nothing has been sent yet."""
    return DiskSnapshot(tmp_path_factory.getbasetemp())


def error_lines(bot, since: int = 0) -> list[str]:
    return [line for line in bot.capture.lines[since:] if line.split(" ", 2)[1] in ("ERROR", "CRITICAL")]


async def first_answer(bot, payload: dict) -> dict:
    """Push an INTERACTION_CREATE; the message the user sees first — the interaction response itself (type 4)
    or, after a deferral, the first followup. Fails if an error was logged instead of an answer."""
    fake, since, logged = bot.fake, bot.fake.mark(), len(bot.capture.lines)
    callback_path = f"/interactions/{payload['id']}/{payload['token']}/callback"
    followup_path = f"/webhooks/{fake.app_id}/{payload['token']}"
    await fake.dispatch("INTERACTION_CREATE", payload)

    def answered(request) -> bool:
        return ((request.path == callback_path and request.json.get("type") == 4)
                or (request.method == "POST" and request.path == followup_path))

    try:
        request = await fake.wait_request(answered, since=since, timeout=WAIT)
    finally:
        if errors := error_lines(bot, logged):
            raise AssertionError(f"logged instead of answering: {errors[0][:300]}")
    return request.response["resource"]["message"] if request.path == callback_path else request.response


async def mood_command(bot, *, options: list[dict], attachments: list[dict] = ()) -> dict:
    payload = bot.fake.command_interaction(bot.user, bot.channel, "mood", options=options, attachments=attachments)
    return await first_answer(bot, payload)


async def press(bot, message: dict, custom_id: str) -> dict:
    """Press the button ``custom_id``; Discord only sends presses of buttons the message carries, so a forged
    one is put on (a copy of) the message first."""
    if custom_id not in [b["custom_id"] for b in buttons(message)]:
        message = {**message, "components": [{"type": 1, "components": [
            {"type": 2, "style": 2, "label": "x", "custom_id": custom_id}]}]}
    return await first_answer(bot, bot.fake.component_interaction(bot.user, bot.channel, message, custom_id))


def offers_moods(message: dict) -> bool:
    return [p for p in payloads(message) if isinstance(p, callbacks.PickMood)] == [
        callbacks.PickMood(m) for m in MOODS]


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
async def test_photo_attachment(bot, snapshot, case):
    attachment = bot.fake.add_attachment(bot.channel["id"], case.filename, case.data, case.mime)
    message = await mood_command(bot, options=[{"name": "photo", "type": 11, "value": attachment["id"]}],
                                 attachments=[attachment])
    if case.is_answer:
        assert_tracks(message)
        embed = message["embeds"][0]
        assert ("You look" in embed["title"]) == (case.expect != GROUP), embed
        assert (GROUP_SENTENCE in embed["title"]) == (case.expect == GROUP), embed
        assert ("Largest first" in embed["description"]) == (case.expect == GROUP), embed
    else:
        assert message["content"] == case.expect
        assert not message["embeds"] and offers_moods(message)
    downloaded = any(f"/{attachment['id']}/" in path for path in bot.fake.downloads)
    assert downloaded == (case.name not in NOT_DOWNLOADED)


async def test_forged_custom_ids(bot, snapshot):
    answer = await mood_command(bot, options=[{"name": "mood", "type": 3, "value": "Calm"}])
    assert_tracks(answer)
    for forged in FORGED_PAYLOADS:
        reply = await press(bot, answer, forged)
        assert reply["content"] == messages.STALE_BUTTON, forged
        assert reply["flags"] & EPHEMERAL or isinstance(callbacks.decode(forged), callbacks.More), forged


async def test_stale_buttons_after_forgetting(bot, snapshot):
    """A real answer's buttons, pressed after its user deleted everything: the event is gone."""
    case = next(c for c in CASES if c.name == "greyscale-jpeg")
    attachment = bot.fake.add_attachment(bot.channel["id"], case.filename, case.data, case.mime)
    answer = await mood_command(bot, options=[{"name": "photo", "type": 11, "value": attachment["id"]}],
                                attachments=[attachment])
    assert_tracks(answer)
    assert bot.service.store.forget_user("discord", bot.user["id"]) > 0
    for kind in (callbacks.Vote, callbacks.More, callbacks.SwitchStrategy):
        payload = next(p for p in payloads(answer) if isinstance(p, kind))
        reply = await press(bot, answer, callbacks.encode(payload))
        assert reply["content"] == messages.STALE_BUTTON, payload


async def test_still_answers_a_normal_photo(bot, snapshot, astronaut_jpeg):
    attachment = bot.fake.add_attachment(bot.channel["id"], "selfie.jpg", astronaut_jpeg, "image/jpeg")
    assert_tracks(await mood_command(bot, options=[{"name": "photo", "type": 11, "value": attachment["id"]}],
                                     attachments=[attachment]))


async def test_no_handler_crashed(bot, snapshot):
    apologies = [r for r in bot.fake.requests if isinstance(r.json, dict) and messages.SOMETHING_WENT_WRONG in (
        r.json.get("content") or (r.json.get("data") or {}).get("content") or "")]
    assert not apologies
    assert not error_lines(bot)


async def test_nothing_was_written_to_disk(bot, snapshot):
    snapshot.assert_nothing_written(CASES)


# --- known bugs, kept last so their ERROR records and apologies do not hide anything above -------------------
async def test_unknown_mood(bot):
    """A mood value outside the synced choices (an outdated client, a hand-made request)."""
    reply = await mood_command(bot, options=[{"name": "mood", "type": 3, "value": UNKNOWN_MOOD}])
    assert reply["content"] == f"I don't know the mood “{UNKNOWN_MOOD}”."


async def test_forged_custom_id_with_a_superscript_digit(bot):
    answer = await mood_command(bot, options=[{"name": "mood", "type": 3, "value": "Happy"}])
    reply = await press(bot, answer, "m|²")
    assert reply["content"] == messages.STALE_BUTTON
