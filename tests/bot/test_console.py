"""The console chat, driven line by line like a person typing, over the real service and SQLite."""

from __future__ import annotations

import io
import logging

import pytest
from sqlalchemy import text

from moodtunes.bot.console import NOT_UNDERSTOOD, ConsoleChat, chat_loop
from moodtunes.bot.service import SWITCH_NEEDS_PHOTO
from moodtunes.core import messages
from moodtunes.core.mood import MOODS

SPOTIFY = "https://open.spotify.com/track/"


def make_chat(service):
    out: list[str] = []
    return ConsoleChat(service, "alice", out.append), out


@pytest.fixture
def selfie(tmp_path, astronaut_jpeg):
    path = tmp_path / "me.jpg"
    path.write_bytes(astronaut_jpeg)
    return str(path)


def say(chat, out: list[str], line: str) -> list[str]:
    """What the console prints for one typed line."""
    out.clear()
    assert chat.handle(line) is True
    return list(out)


def track_ids(chat) -> list[str]:
    return [t.id for t in chat.last.tracks]


def count_rows(store, table: str) -> int:
    with store.engine.connect() as conn:
        return conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()


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


# --- regressions of issue 13 ---------------------------------------------------------------------------------
def test_more_after_lift_me_up_keeps_lifting(service, selfie):
    """Defect 1: More under a "Lift me up" answer went back to the selfie's first strategy."""
    chat, out = make_chat(service)
    say(chat, out, selfie)
    assert chat.last.strategy == "match"
    lifted = say(chat, out, "lift")[0]
    assert lifted.startswith("Lift me up: ") and chat.last.strategy == "uplift"
    mood = lifted.split("\n", 1)[0].removeprefix("Lift me up: ")
    more = say(chat, out, "more")[0]
    assert more.startswith(f"More {mood}\n") and chat.last.strategy == "uplift"
    assert "match to match my mood" in out[-1]  # the way back is still offered


def test_more_pages_through_a_mood_again_after_starting_over(service, pipeline):
    """Defect 2: once every track was shown, More repeated the same first page forever."""
    chat, out = make_chat(service)
    say(chat, out, "/mood calm")
    pages = [track_ids(chat)]
    for _ in range(pipeline.recommender.mood_size("Calm") // 5 + 2):
        if "starting over" in say(chat, out, "more")[0]:
            break
        pages.append(track_ids(chat))
    else:
        pytest.fail("More never came to the end of the Calm tracks")
    shown = [t for page in pages for t in page]
    assert len(shown) == len(set(shown)) == pipeline.recommender.mood_size("Calm")  # every track, once
    assert track_ids(chat) == pages[0]  # the new round starts at the top ...
    assert "starting over" not in say(chat, out, "more")[0]
    assert track_ids(chat) == pages[1]  # ... and goes on from there
    say(chat, out, "more")
    assert track_ids(chat) == pages[2]


def test_a_mood_whose_tracks_were_all_disliked_says_so_and_offers_the_others(service, store, pipeline):
    """Defect 4: "Mood: Sad" with no tracks at all."""
    chat, out = make_chat(service)
    say(chat, out, "/mood sad")
    answer, user = chat.last, store.user_id("console", "alice")
    sad = pipeline.recommender.catalog.query("mood == 'Sad'")["id"]
    for track_id in sad:  # as if every Sad track had been shown and turned down over time
        store.vote(answer.event_id, user, track_id, -1)
    for line in ("/mood sad", "more"):
        reply = say(chat, out, line)
        assert reply[0] == "You've turned down every Sad track I have, so I won't play them again. " \
                           "Pick another mood?", line
        assert reply[1] == "Moods: " + ", ".join(MOODS) + " — e.g. /mood calm"
        assert SPOTIFY not in "\n".join(reply)
    assert say(chat, out, "/mood calm")[0].count(SPOTIFY) == 5


def test_votes_after_a_switch_count_for_the_strategy_they_were_cast_under(service, store, selfie):
    """Defect 5: a vote on a "Lift me up" answer was stored against the selfie's first strategy."""
    chat, out = make_chat(service)
    say(chat, out, selfie)
    say(chat, out, "+1")
    say(chat, out, "lift")
    say(chat, out, "-2")
    counts = {c.key: (c.likes, c.dislikes) for c in store.feedback_counts("strategy")}
    assert counts == {"match": (1, 0), "uplift": (0, 1)}
    first, switched = store.history(store.user_id("console", "alice"))[::-1]
    assert (first.strategy, switched.strategy) == ("match", "uplift")
    assert switched.probabilities == first.probabilities and switched.emotion == first.emotion


def test_a_very_long_line_is_answered_not_crashed_on(service, caplog):
    """Defect 8: a 5,000-character line crashed the handler with "File name too long"."""
    chat, out = make_chat(service)
    with caplog.at_level(logging.ERROR):
        assert say(chat, out, "x" * 5000) == [NOT_UNDERSTOOD]
        assert say(chat, out, "/tmp/" + "x" * 5000)[0].startswith("I can't open /tmp/xxx")
        assert len(say(chat, out, "/tmp/" + "x" * 5000)[0]) < 200
    assert not caplog.records


def test_help_while_forgetme_waits_is_answered_and_deletes_nothing(service, store, selfie):
    """Defect 8: /help typed at the yes/no question was swallowed as a "no"."""
    chat, out = make_chat(service)
    say(chat, out, selfie)
    assert "Type yes to confirm" in say(chat, out, "/forgetme")[0]
    reply = "\n".join(say(chat, out, "/help"))
    assert "Okay, I kept everything." in reply and "/mood" in reply and "+N / -N" in reply
    assert say(chat, out, "yes") == [NOT_UNDERSTOOD]  # the question is over: a later "yes" deletes nothing
    assert count_rows(store, "recommendation_events") == 1


def test_history_after_forgetme_does_not_bring_the_user_back(service, store, selfie):
    """Defect 8: /history right after /forgetme created the user row again."""
    chat, out = make_chat(service)
    say(chat, out, selfie)
    say(chat, out, "/forgetme")
    assert say(chat, out, "yes")[0].startswith("Done")
    assert say(chat, out, "/history") == ["No history yet — send me a selfie!"]
    say(chat, out, "/settings")
    say(chat, out, "/mydata")
    assert count_rows(store, "users") == 0


def test_free_text_is_not_taken_for_a_file_name(service, tmp_path):
    """Defect 8: "hello" was answered "I can't open hello"."""
    chat, out = make_chat(service)
    assert say(chat, out, "hello") == [NOT_UNDERSTOOD]
    assert say(chat, out, "how are you today?") == [NOT_UNDERSTOOD]
    missing = tmp_path / "missing.jpg"
    assert say(chat, out, str(missing)) == [f"I can't open {missing}. Type the path of a photo, or /help."]
    assert say(chat, out, "selfie.png")[0].startswith("I can't open selfie.png")


def test_the_console_speaks_of_what_it_has_not_of_buttons(service, selfie):
    """Defect 8: the console said "Press 👍" and "That button has expired"."""
    chat, out = make_chat(service)
    help_text = "\n".join(say(chat, out, "/help"))
    assert "+N / -N" in help_text
    say(chat, out, selfie)
    say(chat, out, "/forgetme")
    say(chat, out, "yes")
    said = "\n".join(say(chat, out, "/help") + say(chat, out, "more") + say(chat, out, "+1"))
    assert "more" in said.lower() and messages.STALE_BUTTON in said
    assert "press" not in said.lower() and "button" not in said.lower()


def test_lift_after_a_hand_picked_mood_says_it_needs_a_selfie(service):
    """Defect 8: after /mood calm, "lift" silently acted like More."""
    chat, out = make_chat(service)
    say(chat, out, "/mood calm")
    shown = track_ids(chat)
    for word in ("lift", "match"):
        assert say(chat, out, word) == [SWITCH_NEEDS_PHOTO]
    assert track_ids(chat) == shown


def test_an_unknown_mood_lists_the_moods_once(service):
    """Defect 8: "/mood blah" listed the moods twice."""
    chat, out = make_chat(service)
    reply = "\n".join(say(chat, out, "/mood blah"))
    assert "blah" in reply and all(reply.count(mood) == 1 for mood in MOODS)
