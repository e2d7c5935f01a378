"""Emotion -> mood mapping from the editable TOML table."""

from __future__ import annotations

import pytest

from moodtunes.core.emotions import EMOTIONS
from moodtunes.core.mood import MOODS, MoodMap, MoodMapError, canonical_mood


@pytest.fixture(scope="module")
def mood_map(settings):
    return MoodMap.load(settings.mood_map_path)


def one_hot(emotion: str) -> dict[str, float]:
    return {e: float(e == emotion) for e in EMOTIONS}


def test_every_emotion_maps_to_a_mood_in_both_strategies(mood_map):
    for emotion in EMOTIONS:
        for strategy in ("match", "uplift"):
            assert mood_map.target(one_hot(emotion), strategy).mood in MOODS


def test_match_follows_the_feeling_and_uplift_lifts_sadness(mood_map):
    assert mood_map.target(one_hot("happy"), "match").mood == "Happy"
    assert mood_map.target(one_hot("sad"), "match").mood == "Sad"
    lifted = mood_map.target(one_hot("sad"), "uplift")
    assert lifted.mood != "Sad"
    assert lifted.valence > mood_map.target(one_hot("sad"), "match").valence


def test_whole_probability_vector_moves_the_target(mood_map):
    pure = mood_map.target(one_hot("happy"), "match")
    mixed = mood_map.target({"happy": 0.6, "sad": 0.4}, "match")
    assert mixed.mood == "Happy"
    assert mixed.valence < pure.valence  # the 40 % sadness pulls valence down
    # Mood comes from summed probability: 0.3 angry + 0.3 surprise (both Energetic) beat 0.4 happy.
    assert mood_map.target({"angry": 0.3, "surprise": 0.3, "happy": 0.4}, "match").mood == "Energetic"


def test_edited_table_is_validated(tmp_path, settings):
    text = settings.mood_map_path.read_text().replace('mood = "Sad"', 'mood = "Melancholy"', 1)
    bad = tmp_path / "moods.toml"
    bad.write_text(text)
    with pytest.raises(MoodMapError, match=r"\[sad\]\.match: mood 'Melancholy'"):
        MoodMap.load(bad)
    bad.write_text("[happy]\n")
    with pytest.raises(MoodMapError, match="missing table"):
        MoodMap.load(bad)


def test_canonical_mood():
    assert canonical_mood(" sad ") == "Sad"
    assert canonical_mood("ENERGETIC") == "Energetic"
    assert canonical_mood("blah") is None
