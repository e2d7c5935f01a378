"""Group mood from real faces read by the real model."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from moodtunes.core.emotions import EMOTIONS
from moodtunes.core.group import group_emotion
from tests.helpers import encode, fer_faces


@pytest.fixture(scope="module")
def happy_happy_sad(pipeline):
    """Probability vectors of real FER faces the model reads confidently: two happy, one sad."""
    picked = []
    for emotion, count in (("happy", 2), ("sad", 1)):
        probs = pipeline.model.predict_proba(fer_faces("val", emotion, 40))
        sure = [p for p in probs if EMOTIONS[p.argmax()] == emotion and p.max() > 0.7]
        picked += sure[:count]
    return np.array(picked)


def test_equal_faces_vote_and_the_summary_says_so(happy_happy_sad):
    group = group_emotion([100, 100, 100], happy_happy_sad)
    assert group.emotion == "happy" and group.faces_used == 3 and group.summary == "mostly happy"
    np.testing.assert_allclose(group.probabilities, happy_happy_sad.mean(axis=0), atol=1e-6)


def test_larger_faces_weigh_more(happy_happy_sad):
    assert group_emotion([100, 100, 1000], happy_happy_sad).emotion == "sad"


def test_background_faces_are_left_out(happy_happy_sad):
    group = group_emotion([5, 5, 1000], happy_happy_sad)
    assert group.faces_used == 1 and group.emotion == "sad" and group.summary == "sad"


def test_no_faces_is_an_error():
    with pytest.raises(ValueError):
        group_emotion([], [])


@pytest.fixture(scope="module")
def three_astronauts(astronaut_image) -> bytes:
    canvas = Image.new("RGB", (1280, 600), (180, 180, 180))
    for x, side in ((0, 512), (540, 400), (960, 300)):
        canvas.paste(astronaut_image.resize((side, side)), (x, 40))
    return encode(canvas)


def test_group_photo_mood_and_json(pipeline, three_astronauts):
    result = pipeline.recommend_photo(three_astronauts)
    assert len(result.faces) == 3 and result.group.faces_used == 3
    expected = group_emotion([f.box[2] * f.box[3] for f in result.faces],
                             [f.prediction.probabilities for f in result.faces])
    assert result.group == expected
    assert result.mood == pipeline.mood_map.target(expected.probabilities, "match").mood
    payload = result.as_json()
    assert payload["group"] == {"mood": result.mood, "emotion": expected.emotion, "faces_used": 3}
    assert len(payload["all_faces"]) == 3 and len(payload["tracks"]) == 5


def test_group_reply_names_the_faces_and_the_mood(service, three_astronauts):
    answer = service.handle_photo("console", "gus", three_astronauts)
    assert answer.kind == "tracks"
    first = answer.text.splitlines()[0]
    mood = first.rsplit("→ ", 1)[-1]
    assert "3 faces:" in first and f"Mood: {mood}" in answer.text
    assert "doesn't count" not in answer.text  # all three faces were used
    # "More" goes on from the group's vector: the same mood comes back.
    assert service.handle_more("console", "gus", answer.event_id).title == f"More {mood}"
