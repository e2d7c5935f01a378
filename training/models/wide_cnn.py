"""MoodTunes' wide emotion model: a VGG-style CNN of about 4.8 M parameters for 48x48 greyscale faces.

Four blocks of two 3x3 conv + BN + ReLU (64, 128, 256, 512 filters), max-pool and dropout after each, global
average pooling, a 512-unit head. The published 72-73 % FER2013 single networks are VGG variants of this
width trained for hundreds of epochs with strong geometric augmentation; its training recipe (TRAINING)
follows them: SGD with Nesterov momentum (one optimizer slot keeps the committed training state lean), a long
warm-up + cosine schedule, FER+ crowd votes as part of the target, random erasing. About 4x the default
model's compute per face.
"""

from __future__ import annotations

import keras
from keras import layers

# Hyper-parameters of the architecture.
FILTERS = (64, 128, 256, 512)
BLOCK_DROPOUT = (0.1, 0.2, 0.3, 0.4)
HEAD_UNITS = 512
HEAD_DROPOUT = 0.5
NUM_CLASSES = 7

# Hyper-parameters of its training run (TrainConfig fields), fixed before the run, not tuned on val.
TRAINING = {
    "epochs": 120,
    "batch_size": 128,
    "optimizer": "sgd",
    "learning_rate": 0.02,
    "momentum": 0.9,
    "lr_schedule": "warmup_cosine",
    "warmup_epochs": 3,
    "weight_decay": 5e-4,
    "label_smoothing": 0.0,  # the FER+ votes already soften the targets
    "ferplus_weight": 0.3,  # target = 0.7 * original one-hot + 0.3 * FER+ vote distribution
    "class_weight_power": 0.25,
    "augmentation": "strong",
    "early_stopping_patience": 40,
}


def _conv_bn_relu(x, filters: int):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.ReLU()(x)


def build(input_size: int = 48, weights: str = "none") -> keras.Model:
    if weights not in ("none", None):
        raise ValueError("the wide CNN has no pretrained weights; use --weights none")
    inputs = keras.Input((input_size, input_size, 1), name="face")
    # Pixels arrive as 0..255 greyscale; scaling lives in the model so serving feeds raw pixels.
    x = layers.Rescaling(1.0 / 255)(inputs)
    for filters, dropout in zip(FILTERS, BLOCK_DROPOUT):
        x = _conv_bn_relu(x, filters)
        x = _conv_bn_relu(x, filters)
        x = layers.MaxPooling2D()(x)
        x = layers.Dropout(dropout)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(HEAD_UNITS, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(HEAD_DROPOUT)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="emotion")(x)
    return keras.Model(inputs, outputs, name="moodtunes_wide_cnn")
