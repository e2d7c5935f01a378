"""The worker's answer as it travels: faces survive the round trip, a refusal comes back as its own kind, and a
kind name that is not an ImageRejected never becomes another exception."""

from __future__ import annotations

import msgpack
import pytest

from moodtunes.core.errors import ImageRejected, TruncatedImage
from moodtunes.worker.wire import analysis_from_wire, analysis_to_wire, rejection_to_wire


def test_faces_survive_msgpack(pipeline, astronaut_jpeg):
    faces = pipeline.analyze(astronaut_jpeg)
    payload = msgpack.unpackb(msgpack.packb(analysis_to_wire(faces, "v1"), use_bin_type=True), raw=False)
    analysis = analysis_from_wire(payload)
    assert analysis.faces == faces and analysis.model_version == "v1"


def test_refusal_comes_back_as_its_kind():
    with pytest.raises(TruncatedImage, match="cut short"):
        analysis_from_wire(rejection_to_wire(TruncatedImage("cut short")))


@pytest.mark.parametrize("name", ["SystemExit", "MoodTunesError", "nonexistent"])
def test_unknown_refusal_kind_is_a_plain_rejection(name):
    with pytest.raises(ImageRejected) as caught:
        analysis_from_wire({"rejected": name, "detail": "x"})
    assert type(caught.value) is ImageRejected
