"""MoodTunes' default emotion model: a compact VGG-style CNN for 48x48 greyscale faces.

Four conv blocks (two 3x3 conv + BN + ReLU each, then max-pool), global average pooling and a
softmax head. Small enough to train on a 2-core CPU and to classify a face in a few milliseconds.
"""

from __future__ import annotations

import keras

from moodtunes.training.models._vgg_style import vgg_style_cnn

# Hyper-parameters of the architecture.
FILTERS = (32, 64, 128, 256)
BLOCK_DROPOUT = (0.1, 0.15, 0.2, 0.25)
HEAD_UNITS = 256
HEAD_DROPOUT = 0.4
L2 = 1e-4


def build(input_size: int = 48, weights: str = "none") -> keras.Model:
    if weights not in ("none", None):
        raise ValueError("the default CNN has no pretrained weights; use --weights none")
    return vgg_style_cnn(input_size, filters=FILTERS, block_dropout=BLOCK_DROPOUT, head_units=HEAD_UNITS,
                         head_dropout=HEAD_DROPOUT, l2=L2, name="moodtunes_default_cnn")
