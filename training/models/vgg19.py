"""The study's VGG19: a VGG19 base (ImageNet weights or from scratch) with a two-layer dropout head.

As the study described it: ``keras.applications.VGG19(include_top=False)``, Flatten, Dense 1024 ReLU,
Dropout 0.2, Dense 512 ReLU, Dropout 0.2, Dense 7 softmax, trained with Adam at 1e-4. Greyscale faces
are repeated to three channels and preprocessed with ``keras.applications.vgg19.preprocess_input``
inside the model (see _imagenet.py).
"""

from __future__ import annotations

import keras
from keras import layers

from moodtunes.training.models._study import STUDY_TRAINING

from moodtunes.training.models._imagenet import imagenet_features

# Hyper-parameters of the architecture.
HEAD_UNITS = (1024, 512)
HEAD_DROPOUT = 0.2
NUM_CLASSES = 7

# The study's recipe: Adam 1e-4 at a constant rate (see _study.py).
TRAINING = STUDY_TRAINING


def build(input_size: int = 48, weights: str = "none") -> keras.Model:
    inputs, x = imagenet_features("vgg19", input_size, weights)
    x = layers.Flatten()(x)
    for units in HEAD_UNITS:
        x = layers.Dense(units, activation="relu")(x)
        x = layers.Dropout(HEAD_DROPOUT)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="emotion")(x)
    return keras.Model(inputs, outputs, name="moodtunes_vgg19")
