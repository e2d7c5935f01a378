"""The whole pipeline on real photos: bytes in, faces/emotion/mood/tracks out."""

from __future__ import annotations

import pytest

from moodtunes.core.emotions import EMOTIONS
from moodtunes.core.errors import NotAnImage, UnknownMood
from moodtunes.core.mood import MOODS


def test_astronaut_gives_one_face_and_five_spotify_links(pipeline, astronaut_jpeg):
    result = pipeline.recommend_photo(astronaut_jpeg)
    assert len(result.faces) == 1
    assert result.emotion in EMOTIONS
    assert result.mood in MOODS
    assert len(result.tracks) == 5
    assert all(t.spotify_url.startswith("https://open.spotify.com/track/") for t in result.tracks)
    # The mood shown is the one the table gives for these probabilities.
    assert result.mood == pipeline.mood_map.target(result.primary.prediction.probabilities, "match").mood
    assert set(result.timings_ms) == {"decode", "detect_align", "classify", "recommend"}


@pytest.mark.parametrize("fmt", ["HEIC", "AVIF"])
def test_phone_formats_get_the_same_emotion_as_jpeg(pipeline, astronaut_image, astronaut_jpeg, fmt):
    """An iPhone's HEIC and an AVIF of the same photo: one face, the JPEG's emotion, five tracks."""
    from tests.helpers import avif, heic

    data = heic(astronaut_image) if fmt == "HEIC" else avif(astronaut_image)
    result = pipeline.recommend_photo(data)
    assert len(result.faces) == 1 and len(result.tracks) == 5
    assert result.emotion == pipeline.recommend_photo(astronaut_jpeg).emotion


@pytest.mark.parametrize("fixture", ["coffee_jpeg", "chelsea_jpeg"])
def test_no_face_is_a_result_not_an_error(pipeline, fixture, request):
    result = pipeline.recommend_photo(request.getfixturevalue(fixture))
    assert result.faces == () and result.tracks == () and result.emotion is None
    assert result.as_json()["faces"] == 0


def test_strategies_differ_for_the_same_probabilities(pipeline):
    sad = [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    matched, _ = pipeline.recommend_probabilities(sad, "match")
    lifted, _ = pipeline.recommend_probabilities(sad, "uplift")
    assert matched.mood == "Sad" and lifted.mood != "Sad"


def test_exclusions_are_respected(pipeline, astronaut_jpeg):
    first = pipeline.recommend_photo(astronaut_jpeg)
    again = pipeline.recommend_photo(astronaut_jpeg, exclude=frozenset(t.id for t in first.tracks))
    assert not {t.id for t in first.tracks} & {t.id for t in again.tracks}


def test_bad_bytes_raise_typed_error(pipeline):
    with pytest.raises(NotAnImage):
        pipeline.recommend_photo(b"hello, not a photo")


def test_manual_mood(pipeline):
    assert len(pipeline.recommend_mood("sad").tracks) == 5
    with pytest.raises(UnknownMood):
        pipeline.recommend_mood("grumpy")


def test_large_jpeg_boxes_are_in_photo_coordinates(pipeline, astronaut_image):
    from tests.helpers import encode

    small = pipeline.recommend_photo(encode(astronaut_image))
    big = pipeline.recommend_photo(encode(astronaut_image.resize((2048, 2048))))
    assert len(big.faces) == 1
    # Decoded at a reduced scale for speed, but the box is reported at the photo's 4x size.
    for a, b in zip(small.faces[0].box, big.faces[0].box, strict=True):
        assert abs(b - 4 * a) < 0.15 * 4 * max(small.faces[0].box[2:])
