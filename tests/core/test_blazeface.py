"""BlazeFace through LiteRT on real photos: anchors, decoding, non-maximum suppression, threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from benchmarks.face_canvases import ASTRONAUT_FACE
from moodtunes.core.blazeface import LEFT_EYE, RIGHT_EYE, SHORT_RANGE, BlazeFace, ssd_anchors
from moodtunes.core.errors import ModelError
from moodtunes.core.faces import letterbox


@pytest.fixture(scope="module")
def blazeface():
    return BlazeFace(SHORT_RANGE)


def test_anchor_grid_matches_the_model_outputs(blazeface):
    anchors = ssd_anchors(SHORT_RANGE)
    assert anchors.shape == (896, 2) and (anchors > 0).all() and (anchors < 1).all()


def test_astronaut_face_and_eyes_are_where_they_are(blazeface, astronaut_image):
    found = blazeface.detect(letterbox(astronaut_image, 128))
    assert len(found) == 1 and found.scores[0] > 0.85
    x1, y1, x2, y2 = ASTRONAUT_FACE
    box = found.boxes[0] * 512
    assert x1 <= (box[0] + box[2]) / 2 <= x2 and y1 <= (box[1] + box[3]) / 2 <= y2
    right_eye, left_eye = found.keypoints[0, RIGHT_EYE] * 512, found.keypoints[0, LEFT_EYE] * 512
    # The subject's right eye is on the image's left, both in the upper half of the face box, about level.
    assert box[0] < right_eye[0] < left_eye[0] < box[2]
    assert box[1] < right_eye[1] < (box[1] + box[3]) / 2 and abs(right_eye[1] - left_eye[1]) < 0.2 * (box[2] - box[0])


def test_overlapping_candidates_become_one_face(blazeface, astronaut_image):
    # With a low threshold many anchors fire around the face; weighted NMS leaves one detection there.
    found = blazeface.detect(letterbox(astronaut_image, 128), min_score=0.05)
    centres = (found.boxes[:, :2] + found.boxes[:, 2:]) / 2 * 512
    x1, y1, x2, y2 = ASTRONAUT_FACE
    on_face = (centres[:, 0] > x1) & (centres[:, 0] < x2) & (centres[:, 1] > y1) & (centres[:, 1] < y2)
    assert len(found) > 1 and on_face.sum() == 1
    assert found.scores[on_face][0] == found.scores.max()


def test_threads_share_one_model_safely(blazeface, astronaut_image, chelsea_jpeg):
    from moodtunes.core.intake import load_image

    inputs = [letterbox(astronaut_image, 128), letterbox(load_image(chelsea_jpeg), 128)] * 8
    expected = [blazeface.detect(square) for square in inputs[:2]]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(blazeface.detect, inputs))
    for i, result in enumerate(results):
        np.testing.assert_array_equal(result.boxes, expected[i % 2].boxes)


def test_wrong_input_size_and_missing_file_are_precise(blazeface, astronaut_image, tmp_path):
    with pytest.raises(ValueError, match="128x128"):
        blazeface.detect(astronaut_image)
    with pytest.raises(ModelError, match="not found"):
        BlazeFace(SHORT_RANGE, tmp_path)
