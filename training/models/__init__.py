"""One module per model family; each exposes ``build(input_size, weights) -> keras.Model`` and may give its own
training defaults as a ``TRAINING`` dict of TrainConfig fields."""

from __future__ import annotations

from importlib import import_module

# --arch name -> module in training.models.
ARCHITECTURES = {
    "default": "moodtunes.training.models.default_cnn",
    "wide": "moodtunes.training.models.wide_cnn",
    "custom-cnn": "moodtunes.training.models.custom_cnn",
    "vgg16": "moodtunes.training.models.vgg16",
    "vgg19": "moodtunes.training.models.vgg19",
    "resnet50v2": "moodtunes.training.models.resnet50v2",
}


def family(arch: str):
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
    return import_module(ARCHITECTURES[arch])


def build_model(config):
    """A fresh Keras model of ``config.arch`` (a TrainConfig) under the current dtype policy."""
    return family(config.arch).build(config.input_size, config.weights)
