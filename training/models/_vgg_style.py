"""The VGG-style CNN both MoodTunes families use: blocks of two 3x3 conv + BN + ReLU, max-pool and dropout after
each, global average pooling, a BN + ReLU + dropout dense head and a softmax. The families differ in width,
dropout and regularisation (training/models/default_cnn.py, wide_cnn.py)."""

from __future__ import annotations

import keras
from keras import layers

NUM_CLASSES = 7


def vgg_style_cnn(input_size: int, *, filters: tuple[int, ...], block_dropout: tuple[float, ...], head_units: int,
                  head_dropout: float, l2: float, name: str) -> keras.Model:
    regularizer = keras.regularizers.l2(l2) if l2 else None

    def conv_bn_relu(x, width: int):
        x = layers.Conv2D(width, 3, padding="same", use_bias=False, kernel_regularizer=regularizer)(x)
        x = layers.BatchNormalization()(x)
        return layers.ReLU()(x)

    inputs = keras.Input((input_size, input_size, 1), name="face")
    # Pixels arrive as 0..255 greyscale; scaling lives in the model so serving feeds raw pixels.
    x = layers.Rescaling(1.0 / 255)(inputs)
    for width, dropout in zip(filters, block_dropout, strict=True):
        x = conv_bn_relu(x, width)
        x = conv_bn_relu(x, width)
        x = layers.MaxPooling2D()(x)
        x = layers.Dropout(dropout)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(head_units, use_bias=False, kernel_regularizer=regularizer)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(head_dropout)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="emotion")(x)
    return keras.Model(inputs, outputs, name=name)
