"""The neutral button layout both chat adapters render: what each answer offers, within both platforms' limits."""

from __future__ import annotations

import pytest

from moodtunes.bot import callbacks, layout
from moodtunes.bot.service import Answer, AnswerKind
from moodtunes.core.mood import MOODS
from moodtunes.core.recommender import Track


def tracks(n: int) -> tuple[Track, ...]:
    return tuple(Track(f"song {i}", "artist", "album", f"{i:022d}") for i in range(n))


@pytest.mark.parametrize("n", [1, 5, 10, 20])
def test_a_tracks_answer_fits_discord_and_telegram(n):
    answer = Answer(AnswerKind.TRACKS, "…", event_id=123456789012, tracks=tracks(n), strategy="match")
    rows = layout.buttons(answer)
    assert len(rows) <= 5 and all(len(row) <= layout.ROW_MAX for row in rows)  # Discord: 5 rows of 5
    assert all(len(b.data.encode()) <= callbacks.MAX_BYTES for row in rows for b in row)  # Telegram: 64 bytes
    voted = min(n, layout.VOTED_TRACKS)
    votes = [b.payload for row in rows for b in row if isinstance(b.payload, callbacks.Vote)]
    assert [(v.track_id, v.value) for v in votes] == [(t.id, value) for value in (1, -1) for t in tracks(voted)]
    assert [b.label for b in rows[-1]] == ["More", "Lift me up"]


def test_each_answer_offers_what_it_asks_for():
    assert layout.buttons(Answer(AnswerKind.INFO, "hello")) == ()
    moods = layout.buttons(Answer(AnswerKind.NO_FACE, "no face", offer_moods=True))
    assert [b.payload for b in moods[0]] == [callbacks.PickMood(m) for m in MOODS]
    unsaved = Answer(AnswerKind.TRACKS, "…", event_id=None, tracks=tracks(5), strategy="match")
    assert layout.buttons(unsaved) == ()  # an answer that could not be stored has nothing to press
    forget = layout.buttons(Answer(AnswerKind.CONFIRM_FORGET, "sure?"))
    assert [b.payload for b in forget[0]] == [callbacks.ForgetMe(True), callbacks.ForgetMe(False)]
    assert forget[0][0].style is layout.Style.DANGER


def test_a_text_too_long_for_one_message_goes_as_a_file():
    assert layout.as_file_if_too_long("short", 2000, caption_limit=100) is None
    text = "Everything I store about you:\n" + "x" * 5000
    file = layout.as_file_if_too_long(text, 2000, caption_limit=10)
    assert file.caption == "Everything" and file.data.decode() == text and file.filename.endswith(".txt")
    emoji = "😊" * 1500  # 1,500 characters, 3,000 UTF-16 units: too long where units are counted
    assert layout.as_file_if_too_long(emoji, 2000, caption_limit=10) is None
    assert layout.as_file_if_too_long(emoji, 2000, caption_limit=10, length=lambda t: len(t.encode("utf-16-le")) // 2)
