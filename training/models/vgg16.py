"""The study's VGG16: a VGG16 base (ImageNet weights or from scratch) with a Flatten-Dense head.

As the study described it: ``keras.applications.VGG16(include_top=False)``, Flatten, Dense 1024 ReLU,
Dense 7. The study put a ReLU on the last layer, so its outputs were not probabilities and it reported
0 % accuracy; here the last layer is a 7-way softmax. Greyscale faces are repeated to three channels
and preprocessed with ``keras.applications.vgg16.preprocess_input`` inside the model (see _imagenet.py).
"""

from __future__ import annotations

import keras
from keras import layers

from moodtunes.training.models._study import STUDY_TRAINING

from moodtunes.training.models._imagenet import imagenet_features

# Hyper-parameters of the architecture.
HEAD_UNITS = 1024
NUM_CLASSES = 7

# The study's recipe: Adam 1e-4 at a constant rate (see _study.py).
TRAINING = STUDY_TRAINING


def build(input_size: int = 48, weights: str = "none") -> keras.Model:
    inputs, x = imagenet_features("vgg16", input_size, weights)
    x = layers.Flatten()(x)
    x = layers.Dense(HEAD_UNITS, activation="relu")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="emotion")(x)
    return keras.Model(inputs, outputs, name="moodtunes_vgg16")
