"""The study's custom CNN: one conv layer, one pool, a 64-unit dense layer and a softmax.

As the study described it: Conv2D 32 3x3 ReLU, MaxPool 2 (padding 'same'), Dropout 0.25, Flatten,
Dense 64 ReLU, BatchNorm, Dense 7 softmax, trained with Adam at 1e-4. A deliberately small baseline;
at 48x48 almost all of its ~1.1 M parameters are in the Flatten->Dense layer.
"""

from __future__ import annotations

import keras
from keras import layers

from moodtunes.training.models._study import STUDY_TRAINING

# Hyper-parameters of the architecture.
FILTERS = 32
KERNEL = 3
POOL = 2
CONV_DROPOUT = 0.25
HEAD_UNITS = 64
NUM_CLASSES = 7

# The study's recipe: Adam 1e-4 at a constant rate (see _study.py).
TRAINING = STUDY_TRAINING


def build(input_size: int = 48, weights: str = "none") -> keras.Model:
    if weights not in ("none", None):
        raise ValueError("the custom CNN has no pretrained weights; use --weights none")
    inputs = keras.Input((input_size, input_size, 1), name="face")
    # Pixels arrive as 0..255 greyscale; scaling lives in the model so serving feeds raw pixels.
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = layers.Conv2D(FILTERS, KERNEL, activation="relu")(x)
    x = layers.MaxPooling2D(POOL, padding="same")(x)
    x = layers.Dropout(CONV_DROPOUT)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(HEAD_UNITS, activation="relu")(x)
    x = layers.BatchNormalization()(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="emotion")(x)
    return keras.Model(inputs, outputs, name="moodtunes_custom_cnn")
