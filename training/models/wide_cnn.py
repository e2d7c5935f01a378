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

from moodtunes.training.models._vgg_style import vgg_style_cnn

# Hyper-parameters of the architecture.
FILTERS = (64, 128, 256, 512)
BLOCK_DROPOUT = (0.1, 0.2, 0.3, 0.4)
HEAD_UNITS = 512
HEAD_DROPOUT = 0.5

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


def build(input_size: int = 48, weights: str = "none") -> keras.Model:
    if weights not in ("none", None):
        raise ValueError("the wide CNN has no pretrained weights; use --weights none")
    # No per-layer L2: the optimizer's weight decay regularises (TRAINING["weight_decay"]).
    return vgg_style_cnn(input_size, filters=FILTERS, block_dropout=BLOCK_DROPOUT, head_units=HEAD_UNITS,
                         head_dropout=HEAD_DROPOUT, l2=0.0, name="moodtunes_wide_cnn")
