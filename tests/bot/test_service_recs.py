"""Recommendations v2 through the service and the adapters: novelty per user, both catalogs, the /history chart."""

from __future__ import annotations

import io
import re

import discord
import pytest
from PIL import Image

from moodtunes.bot.console import ConsoleChat, chat_loop
from moodtunes.bot.discord_bot import reply_kwargs
from moodtunes.bot.service import ChatService
from moodtunes.core.catalog import load_catalog
from moodtunes.core.pipeline import Pipeline
from moodtunes.core.recommender import Recommender
from moodtunes.core.settings import MOODS_CATALOG

TRACK = re.compile(r"https://open\.spotify\.com/track/([0-9A-Za-z]{22})")


def test_a_user_is_not_shown_the_same_tracks_again(service, astronaut_jpeg):
    seen: list[str] = []
    for _ in range(3):
        answer = service.handle_photo("console", "nina", astronaut_jpeg)
        assert len(answer.tracks) == 5 and not set(seen) & {t.id for t in answer.tracks}
        seen += [t.id for t in answer.tracks]
        more = service.handle_more("console", "nina", answer.event_id)
        assert not set(seen) & {t.id for t in more.tracks}
        seen += [t.id for t in more.tracks]
    mood = service.handle_mood("console", "nina", "happy")
    assert not set(seen) & {t.id for t in mood.tracks}
    # Someone else with the same photo may well get some of them: novelty is per user.
    other = service.handle_photo("console", "omar", astronaut_jpeg)
    assert len(other.tracks) == 5


def test_the_686_track_catalog_still_works_through_a_front_end(pipeline, store):
    moods = Pipeline(detector=pipeline.detector, model=pipeline.model, mood_map=pipeline.mood_map,
                     recommender=Recommender(load_catalog(MOODS_CATALOG)), settings=pipeline.settings)
    out: list[str] = []
    chat_loop(ChatService(moods, store), io.StringIO("/mood sad\nmore\n/quit\n"), out.append, user="kaggle")
    shown = TRACK.findall("\n".join(out))
    catalog = load_catalog(MOODS_CATALOG).set_index("id")
    assert len(shown) == 10 and len(set(shown)) == 10 and (catalog.loc[shown, "mood"] == "Sad").all()


@pytest.fixture
def voted_history(service):
    """A user with three answers and some votes on them."""
    first = service.handle_mood("console", "paula", "calm")
    service.handle_vote("console", "paula", first.event_id, first.tracks[0].id, 1)
    service.handle_vote("console", "paula", first.event_id, first.tracks[1].id, -1)
    second = service.handle_mood("console", "paula", "energetic")
    service.handle_vote("console", "paula", second.event_id, second.tracks[0].id, 1)
    service.handle_mood("console", "paula", "sad")
    return service.history("console", "paula")


def test_history_answers_with_text_and_a_png_chart(voted_history):
    assert voted_history.text.startswith("Your last moods:") and "Energetic (picked by hand)" in voted_history.text
    chart = Image.open(io.BytesIO(voted_history.image))
    assert chart.format == "PNG" and chart.width >= 600 and chart.height >= 400
    assert len(chart.convert("L").getcolors(maxcolors=256)) > 20  # drawn, not blank


def test_no_history_means_no_chart(service):
    answer = service.history("console", "newcomer")
    assert "No history yet" in answer.text and answer.image is None


def test_console_saves_the_chart_and_says_where(service, voted_history):
    out: list[str] = []
    ConsoleChat(service, "paula", out.append).handle("/history")
    path = service.pipeline.settings.data_dir / "history.png"
    assert out[0].startswith("Your last moods:") and out[1] == f"(chart: {path})"
    assert path.read_bytes().startswith(b"\x89PNG")


def test_discord_attaches_the_chart(voted_history):
    kwargs = reply_kwargs(voted_history)
    assert kwargs["content"].startswith("Your last moods:")
    (chart,) = kwargs["files"]
    assert isinstance(chart, discord.File) and chart.filename == "moodtunes.png"
    assert chart.fp.read().startswith(b"\x89PNG")
