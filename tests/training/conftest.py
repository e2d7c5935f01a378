"""Fixtures shared by the training tests: a tiny real FER folder, and the Keras policy put back after a run."""

from __future__ import annotations

import csv
import shutil

import keras
import pytest

from moodtunes.core.emotions import EMOTIONS
from tests.helpers import FER_ROOT, TINY_FER_TRAIN_PER_CLASS, TINY_FER_VAL_PER_CLASS


@pytest.fixture(scope="session")
def tiny_fer(tmp_path_factory):
    """Real FER2013 faces copied into train/ and val/ folders (140 to train on, 35 to select with), with their
    FER+ votes."""
    root = tmp_path_factory.mktemp("fer2013")
    copied = set()
    for split, n in (("train", TINY_FER_TRAIN_PER_CLASS), ("val", TINY_FER_VAL_PER_CLASS)):
        for emotion in EMOTIONS:
            (root / split / emotion).mkdir(parents=True)
            for path in sorted((FER_ROOT / split / emotion).iterdir())[:n]:
                shutil.copy(path, root / split / emotion / path.name)
                copied.add(f"{split}/{emotion}/{path.name}")
    with open(FER_ROOT / "ferplus_votes.csv", newline="") as source, \
            open(root / "ferplus_votes.csv", "w", newline="") as target:
        reader = csv.DictReader(source)
        writer = csv.DictWriter(target, reader.fieldnames)
        writer.writeheader()
        writer.writerows(row for row in reader if row["path"] in copied)
    return root


@pytest.fixture
def restore_policy():
    yield
    keras.mixed_precision.set_global_policy("float32")  # a crashed run leaves mixed_bfloat16 behind


