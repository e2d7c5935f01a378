"""The console chat, driven line by line like a person typing, over the real service and SQLite."""

from __future__ import annotations

import io

from sqlalchemy import text

from bot.console import ConsoleChat, chat_loop

SPOTIFY = "https://open.spotify.com/track/"


def make_chat(service):
    out: list[str] = []
    return ConsoleChat(service, "alice", out.append), out


def test_photo_more_vote_and_mood(service, store, tmp_path, astronaut_jpeg):
    chat, out = make_chat(service)
    photo = tmp_path / "me.jpg"
    photo.write_bytes(astronaut_jpeg)

    chat.handle(str(photo))
    first = "\n".join(out)
    assert first.count(SPOTIFY) == 5 and "You look" in first
    first_ids = {t.id for t in chat.last.tracks}

    out.clear()
    chat.handle("more")
    assert "\n".join(out).count(SPOTIFY) == 5
    assert not first_ids & {t.id for t in chat.last.tracks}

    out.clear()
    chat.handle("+1")
    chat.handle("-1")  # a second press changes the vote
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT value FROM feedback")).all()
    assert rows == [(-1,)]
    assert "won't play" in out[-1]

    out.clear()
    chat.handle("/mood calm")
    assert "Mood: Calm" in out[0] and out[0].count(SPOTIFY) == 5

    out.clear()
    chat.handle("/mood blah")
    assert "don't know the mood" in out[0]


def test_bad_inputs_get_friendly_answers(service, tmp_path, coffee_jpeg):
    chat, out = make_chat(service)
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4 not a photo")
    (tmp_path / "coffee.jpg").write_bytes(coffee_jpeg)
    for line in (str(tmp_path / "notes.pdf"), str(tmp_path / "missing.jpg"), str(tmp_path / "coffee.jpg"),
                 "more", "+9", "/nonsense"):
        out.clear()
        assert chat.handle(line) is True
        assert out and SPOTIFY not in out[0]
    out.clear()
    chat.handle(str(tmp_path / "coffee.jpg"))
    assert "couldn't find a face" in out[0]


def test_settings_history_mydata_forgetme(service, store, tmp_path, astronaut_jpeg):
    chat, out = make_chat(service)
    (tmp_path / "me.jpg").write_bytes(astronaut_jpeg)
    chat.handle("/settings uplift")
    chat.handle(str(tmp_path / "me.jpg"))
    assert "Lift me up" in "\n".join(out)
    out.clear()
    chat.handle("/history")
    assert "Your last moods" in out[0]
    out.clear()
    chat.handle("/mydata")
    assert "alice" not in out[0] and "uplift" in out[0]
    chat.handle("/forgetme")
    chat.handle("yes")
    with store.engine.connect() as conn:
        for table in ("users", "recommendation_events", "feedback"):
            assert conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar() == 0


def test_chat_loop_reads_until_quit(service):
    out: list[str] = []
    chat_loop(service, io.StringIO("/help\n/mood happy\n/quit\n/mood sad\n"), out.append, user="bob")
    joined = "\n".join(out)
    assert "Send me a selfie" in joined and joined.count(SPOTIFY) == 5 and out[-1] == "Bye!"
