"""Every --arch builds, ends in a 7-way softmax and takes one real training step on real FER faces."""

from __future__ import annotations

import shutil

import keras
import numpy as np
import pytest

from moodtunes.core.emotions import EMOTIONS
from moodtunes.training.fer_data import load_face_folder
from moodtunes.training.models import _imagenet
from moodtunes.training.train_emotion import (
    ARCHITECTURES,
    build_model,
    default_config,
    uses_mixed_precision,
    warmup_cosine,
)
from tests.helpers import FER_ROOT

IMAGENET_ARCHS = ("vgg16", "vgg19", "resnet50v2")
SMALL_INPUT = {arch: 32 if arch in IMAGENET_ARCHS else 48 for arch in ARCHITECTURES}
FACES_PER_CLASS = 2  # 14 real faces, one batch


@pytest.fixture(scope="module")
def fer_folder(tmp_path_factory):
    """A few real FER2013 training faces per class, in the folder layout the loader reads."""
    folder = tmp_path_factory.mktemp("fer")
    for emotion in EMOTIONS:
        (folder / emotion).mkdir()
        for path in sorted((FER_ROOT / "train" / emotion).iterdir())[:FACES_PER_CLASS]:
            shutil.copy(path, folder / emotion / path.name)
    return folder


@pytest.fixture
def restore_policy():
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.slow
@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_builds_softmax_and_trains_one_step(arch, fer_folder, restore_policy):
    config = default_config(arch, data=str(fer_folder), input_size=SMALL_INPUT[arch])
    faces = load_face_folder(fer_folder, config.input_size)
    x = faces.images[..., None].astype("float32")  # raw 0..255 pixels, as train() feeds them
    y = keras.utils.to_categorical(faces.labels, len(EMOTIONS))
    # Build and compile exactly as train() does, under the family's own training config.
    if uses_mixed_precision(config):
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = build_model(config)
    assert model.input_shape == (None, config.input_size, config.input_size, 1)

    probs = np.asarray(model(x, training=False))
    assert probs.shape == (len(x), len(EMOTIONS)) and probs.dtype == np.float32
    assert (probs >= 0).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)

    model.compile(
        optimizer=keras.optimizers.AdamW(warmup_cosine(config, steps_per_epoch=1), weight_decay=config.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
        # The same train_step, untraced: tracing ResNet50V2's step takes 35-50 s on a busy 2-core machine.
        # The traced path is covered end to end by test_train_emotion.
        run_eagerly=True,
    )
    before = [v.numpy().copy() for v in model.trainable_variables]
    loss, _ = model.train_on_batch(x, y)
    assert np.isfinite(loss)
    # Every trainable variable moved, from the base's first conv to the softmax: gradients reach everything.
    unchanged = [v.path for v, old in zip(model.trainable_variables, before, strict=True)
                 if np.array_equal(v.numpy(), old)]
    assert not unchanged


OFFLINE_MESSAGE = r"ImageNet weights for \S+ could not be downloaded.*--weights none.*place it in \S+/models/"


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No cached weights and no route to the weights host — simulated, so the test never leaves loopback."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    monkeypatch.setattr(_imagenet, "weights_host_reachable", lambda *args, **kwargs: False)


@pytest.mark.parametrize("arch", IMAGENET_ARCHS)
def test_imagenet_weights_offline_is_a_clear_error(arch, offline):
    with pytest.raises(RuntimeError, match=OFFLINE_MESSAGE):
        build_model(default_config(arch, data="unused", weights="imagenet", input_size=32))


def test_failed_keras_download_becomes_the_same_error(offline, monkeypatch):
    """The host answered the probe but Keras' download then failed (its bare "URL fetch failure")."""
    monkeypatch.setattr(_imagenet, "weights_host_reachable", lambda *args, **kwargs: True)

    def failing_download(*args, **kwargs):
        raise Exception("URL fetch failure on https://weights.invalid/vgg16_notop.h5: None -- connection reset")

    constructor, preprocess, filename = _imagenet.FAMILIES["vgg16"]
    monkeypatch.setitem(_imagenet.FAMILIES, "vgg16", (failing_download, preprocess, filename))
    with pytest.raises(RuntimeError, match=OFFLINE_MESSAGE) as error:
        build_model(default_config("vgg16", data="unused", weights="imagenet", input_size=32))
    assert "URL fetch failure" in str(error.value.__cause__)


@pytest.mark.parametrize("arch", IMAGENET_ARCHS)
def test_imagenet_bases_reject_small_inputs_and_unknown_weights(arch):
    with pytest.raises(ValueError, match="at least 32 px"):
        build_model(default_config(arch, data="unused", input_size=31))
    with pytest.raises(ValueError, match="'imagenet' or 'none'"):
        build_model(default_config(arch, data="unused", weights="faces.h5", input_size=32))
