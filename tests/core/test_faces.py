"""Face detection and alignment on real photos."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from moodtunes.core.faces import FaceDetector
from moodtunes.core.intake import load_image


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


def test_a_selfie_is_answered_by_blazeface_and_a_group_by_mtcnn(pipeline, astronaut_image):
    selfie = pipeline.detector.find(astronaut_image.resize((1280, 1280)))
    assert [f.detector for f in selfie] == ["blazeface"]
    group = Image.new("RGB", (1280, 720), (200, 200, 200))
    for x, y, side in ((0, 100, 512), (540, 60, 360), (920, 200, 260), (600, 460, 200)):
        group.paste(astronaut_image.resize((side, side)), (x, y))
    found = pipeline.detector.find(group)
    assert len(found) == 4 and "mtcnn" in {f.detector for f in found}


@pytest.mark.parametrize("angle", [30, -30])
def test_faces_turned_30_degrees_are_found_and_levelled(pipeline, astronaut_image, angle):
    upright = pipeline.detector.detect(astronaut_image)[0].pixels.astype(float)
    # On a grey margin, so the turn's black corners stay away from the face.
    canvas = Image.new("RGB", (1024, 1024), (120, 120, 120))
    canvas.paste(astronaut_image, (256, 256))
    faces = pipeline.detector.detect(canvas.rotate(angle, resample=Image.Resampling.BILINEAR))
    assert len(faces) == 1
    turned = faces[0].pixels.astype(float)
    assert np.corrcoef(upright.ravel(), turned.ravel())[0, 1] > 0.7
    # Levelled: the crop matches the upright face better than the same crop turned back by the photo's angle.
    unlevelled = np.asarray(Image.fromarray(faces[0].pixels).rotate(angle), dtype=float)
    assert np.corrcoef(upright.ravel(), turned.ravel())[0, 1] > np.corrcoef(upright.ravel(), unlevelled.ravel())[0, 1]


def test_crops_are_histogram_equalised_like_fer(pipeline, astronaut_image):
    from PIL import ImageEnhance

    normal = pipeline.detector.detect(astronaut_image)[0].pixels
    dark = pipeline.detector.detect(ImageEnhance.Brightness(astronaut_image).enhance(0.2))[0].pixels
    for crop in (normal, dark):
        # Flat histogram: every eighth of the grey range holds about an eighth of the pixels, as in FER's JPEGs.
        counts = np.histogram(crop, bins=8, range=(0, 256))[0] / crop.size
        assert counts.max() < 0.25 and crop.min() < 20 and crop.max() > 235
    # A photo five times darker gives the classifier the same brightness and nearly the same face.
    assert abs(normal.mean() - dark.mean()) < 8
    assert np.corrcoef(normal.ravel().astype(float), dark.ravel().astype(float))[0, 1] > 0.6


def test_fer_faces_pasted_into_photos_come_back_framed_like_fer(pipeline, chelsea_jpeg):
    """The served crop of a FER training face pasted (upscaled) into a bigger photo resembles the original."""
    from tests.helpers import fer_faces

    background = load_image(chelsea_jpeg).resize((480, 360))
    rng = np.random.default_rng(7)
    correlations = []
    for emotion in ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"):
        for face in fer_faces("train", emotion, 3):
            side = int(rng.integers(110, 220))
            x, y = int(rng.integers(0, 480 - side)), int(rng.integers(0, 360 - side))
            canvas = background.copy()
            canvas.paste(Image.fromarray(face).resize((side, side), Image.Resampling.BICUBIC).convert("RGB"), (x, y))
            found = [f for f in pipeline.detector.detect(canvas)
                     if x <= f.box[0] + f.box[2] / 2 <= x + side and y <= f.box[1] + f.box[3] / 2 <= y + side]
            if found:
                correlations.append(np.corrcoef(found[0].pixels.ravel().astype(float),
                                                face.ravel().astype(float))[0, 1])
    assert len(correlations) >= 15  # of 21
    # benchmarks/bench_framing.py measures ~0.5 for this framing and ~0.4 for a plain box-centred square.
    assert np.mean(correlations) > 0.4


def test_mtcnn_gets_ready_in_the_background_and_a_group_photo_waits_for_it(astronaut_image):
    detector = FaceDetector()
    detector.warm_up()  # BlazeFace now; MTCNN (TensorFlow) on a thread: a start does not wait for it
    group = Image.new("RGB", (1280, 720), (200, 200, 200))
    for x, y, side in ((0, 100, 512), (540, 60, 360), (920, 200, 260), (600, 460, 200)):
        group.paste(astronaut_image.resize((side, side)), (x, y))
    found = detector.find(group)
    assert len(found) == 4 and "mtcnn" in {f.detector for f in found}
