"""Shared plumbing for the ImageNet-shaped bases (VGG16, VGG19, ResNet50V2).

Our faces are (size, size, 1) greyscale with raw 0..255 pixels; the Keras application bases want
three channels preprocessed their own way. ``imagenet_features`` builds that front end once:

    face (size, size, 1) -> repeat to 3 channels -> keras.applications.<family>.preprocess_input -> base

With ``weights="imagenet"`` the base loads Keras' ImageNet weights (downloaded to ``~/.keras/models/``
on first use); without network access that fails with a ``RuntimeError`` that says what to do.
``weights="none"`` builds the same network from scratch.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import keras
from keras import layers

MIN_INPUT_SIZE = 32  # the bases downsample by 32
WEIGHTS_HOST = "storage.googleapis.com"
REACHABILITY_TIMEOUT = 5.0  # seconds; Keras' own download has no timeout

# family -> (base constructor, preprocess_input, the no-top weights file Keras downloads)
FAMILIES = {
    "vgg16": (keras.applications.VGG16, keras.applications.vgg16.preprocess_input,
              "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "vgg19": (keras.applications.VGG19, keras.applications.vgg19.preprocess_input,
              "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    "resnet50v2": (keras.applications.ResNet50V2, keras.applications.resnet_v2.preprocess_input,
                   "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5"),
}


def cached_weights_path(family: str) -> Path:
    """Where Keras keeps (or would keep) the family's ImageNet weights."""
    keras_home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()
    return keras_home / "models" / FAMILIES[family][2]


def weights_host_reachable(timeout: float = REACHABILITY_TIMEOUT) -> bool:
    """True if a TCP connection to the weights host opens within ``timeout`` seconds (DNS included)."""
    opened: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((WEIGHTS_HOST, 443), timeout=timeout).close()
            opened.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=probe, daemon=True)  # getaddrinfo ignores socket timeouts
    thread.start()
    thread.join(timeout)
    return bool(opened)


def _weights_unavailable(family: str) -> RuntimeError:
    return RuntimeError(
        f"the ImageNet weights for {family} could not be downloaded (no connection to {WEIGHTS_HOST}). "
        f"Train from scratch with --weights none, or download {FAMILIES[family][2]} on a connected machine "
        f"and place it in {cached_weights_path(family).parent}/"
    )


def imagenet_features(family: str, input_size: int, weights: str | None):
    """The face input and the base's feature map, ``(inputs, features)``, for a head to build on."""
    constructor, preprocess_input, _ = FAMILIES[family]
    if weights in (None, "none"):
        weights = None
    elif weights != "imagenet":
        raise ValueError(f"{family}: weights must be 'imagenet' or 'none', got {weights!r}")
    if input_size < MIN_INPUT_SIZE:
        raise ValueError(f"{family}: input_size must be at least {MIN_INPUT_SIZE} px, got {input_size}")
    if weights and not cached_weights_path(family).is_file() and not weights_host_reachable():
        raise _weights_unavailable(family)

    inputs = keras.Input((input_size, input_size, 1), name="face")
    # float32 even under mixed precision: the mean subtraction wants full precision on 0..255 pixels.
    rgb = layers.Concatenate(name="grey_to_rgb", dtype="float32")([inputs, inputs, inputs])
    x = preprocess_input(rgb)
    try:
        base = constructor(include_top=False, weights=weights, input_shape=(input_size, input_size, 3))
    except Exception as exc:  # Keras raises a bare Exception("URL fetch failure on ...")
        if "URL fetch failure" not in str(exc):
            raise
        raise _weights_unavailable(family) from exc
    return inputs, base(x)
