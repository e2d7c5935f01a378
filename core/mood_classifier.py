"""The catalog mood classifier at serving time: load the shipped model, label an unlabelled catalog.

Trained by ``moodtunes train catalog`` (training/train_catalog.py); a folder holds ``model.joblib`` (a scikit-learn
pipeline) and ``metadata.json`` (features, classes, cross-validated accuracy, library versions).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from moodtunes.core.catalog import MOOD_PROBABILITY
from moodtunes.core.errors import CatalogError

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
LABEL_CHUNK = 10_000


@dataclass(frozen=True)
class MoodClassifier:
    model: object
    metadata: dict

    @property
    def features(self) -> list[str]:
        return list(self.metadata["features"])

    @property
    def version(self) -> str:
        return str(self.metadata["version"])

    @staticmethod
    def read_metadata(folder: Path) -> dict:
        """The classifier's metadata (its version, features...), without loading the model."""
        folder = Path(folder)
        try:
            return json.loads((folder / METADATA_FILE).read_text())
        except FileNotFoundError as exc:
            raise CatalogError(f"{folder}: no mood classifier ({METADATA_FILE} missing; "
                               "see `moodtunes train catalog`)") from exc

    @classmethod
    def load(cls, folder: Path) -> MoodClassifier:
        # scikit-learn takes seconds to import: only a catalog (re)build pays for it, not every start.
        import joblib
        import sklearn

        folder = Path(folder)
        metadata = cls.read_metadata(folder)
        with warnings.catch_warnings():
            # A pickle from another scikit-learn release warns; we say it once, precisely, below.
            warnings.simplefilter("ignore")
            model = joblib.load(folder / MODEL_FILE)
        if metadata.get("sklearn_version") != sklearn.__version__:
            warnings.warn(f"{folder}: mood classifier saved with scikit-learn {metadata.get('sklearn_version')}, "
                          f"running {sklearn.__version__}; retrain with `moodtunes train catalog` if labels look off",
                          stacklevel=2)
        return cls(model, metadata)

    def predict(self, frame: pd.DataFrame, progress=None) -> tuple[np.ndarray, np.ndarray]:
        """Predicted mood and its probability for every row (``progress``: a tqdm bar to advance)."""
        moods, probabilities = [], []
        for start in range(0, len(frame), LABEL_CHUNK):
            part = frame.iloc[start:start + LABEL_CHUNK][self.features].to_numpy(float)
            proba = self.model.predict_proba(part)
            best = proba.argmax(axis=1)
            moods.append(np.asarray(self.model.classes_)[best])
            probabilities.append(proba[np.arange(len(best)), best])
            if progress is not None:
                progress.update(len(part))
        return np.concatenate(moods), np.concatenate(probabilities)

    def label(self, catalog: pd.DataFrame, progress=None) -> pd.DataFrame:
        """A copy of ``catalog`` with ``mood`` and ``mood_probability`` from this classifier."""
        moods, probabilities = self.predict(catalog, progress)
        labelled = catalog.copy()
        labelled["mood"] = moods
        labelled[MOOD_PROBABILITY] = probabilities.round(4)
        return labelled
