"""MoodTunes' default emotion model: a compact VGG-style CNN for 48x48 greyscale faces.

Four conv blocks (two 3x3 conv + BN + ReLU each, then max-pool), global average pooling and a
softmax head. Small enough to train on a 2-core CPU and to classify a face in a few milliseconds.
"""

from __future__ import annotations

import keras
from keras import layers

# Hyper-parameters of the architecture.
FILTERS = (32, 64, 128, 256)
BLOCK_DROPOUT = (0.1, 0.15, 0.2, 0.25)
HEAD_UNITS = 256
HEAD_DROPOUT = 0.4
L2 = 1e-4
NUM_CLASSES = 7


def _conv_bn_relu(x, filters: int):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_regularizer=keras.regularizers.l2(L2))(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x)


def build(input_size: int = 48, weights: str = "none") -> keras.Model:
    if weights not in ("none", None):
        raise ValueError("the default CNN has no pretrained weights; use --weights none")
    inputs = keras.Input((input_size, input_size, 1), name="face")
    # Pixels arrive as 0..255 greyscale; scaling lives in the model so serving feeds raw pixels.
    x = layers.Rescaling(1.0 / 255)(inputs)
    for filters, dropout in zip(FILTERS, BLOCK_DROPOUT):
        x = _conv_bn_relu(x, filters)
        x = _conv_bn_relu(x, filters)
        x = layers.MaxPooling2D()(x)
        x = layers.Dropout(dropout)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(HEAD_UNITS, use_bias=False, kernel_regularizer=keras.regularizers.l2(L2))(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(HEAD_DROPOUT)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="emotion")(x)
    return keras.Model(inputs, outputs, name="moodtunes_default_cnn")
