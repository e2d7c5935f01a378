"""Face detection and alignment on real photos."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.intake import load_image


def test_astronaut_has_exactly_one_face(pipeline, astronaut_image):
    faces = pipeline.detector.detect(astronaut_image)
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    # The astronaut's face sits in the upper middle of the 512x512 photo.
    assert 150 < x + w / 2 < 300 and 50 < y + h / 2 < 200
    assert faces[0].pixels.shape == (48, 48) and faces[0].pixels.dtype == np.uint8


@pytest.mark.parametrize("fixture", ["coffee_jpeg", "chelsea_jpeg"])
def test_no_face_in_coffee_or_cat(pipeline, fixture, request):
    assert pipeline.detector.detect(load_image(request.getfixturevalue(fixture))) == []


def test_large_and_tilted_photo_is_downscaled_and_aligned(pipeline, astronaut_image):
    upright = pipeline.detector.detect(astronaut_image)[0].pixels.astype(float)
    tilted_photo = astronaut_image.resize((1280, 1280)).rotate(20, resample=Image.Resampling.BILINEAR)
    faces = pipeline.detector.detect(tilted_photo)
    assert len(faces) == 1
    # Box is reported in the big photo's coordinates.
    assert faces[0].box[2] > 150
    # After alignment the crop looks like the upright crop again (eyes levelled).
    tilted = faces[0].pixels.astype(float)
    correlation = np.corrcoef(upright.ravel(), tilted.ravel())[0, 1]
    assert correlation > 0.8


def test_group_photo_reports_every_face_largest_first(pipeline, astronaut_image):
    group = Image.new("RGB", (1100, 560), (200, 200, 200))
    group.paste(astronaut_image, (0, 24))
    group.paste(astronaut_image.resize((300, 300)), (700, 130))
    faces = pipeline.detector.detect(group)
    assert len(faces) == 2
    assert faces[0].area > faces[1].area
    assert faces[0].box[0] < 500 < faces[1].box[0]
