"""The catalog mood classifier: compare a few scikit-learn models on a hand-labelled catalog's audio features
(stratified, repeated cross-validation), refit the best on every track and save it with its metadata.

    moodtunes train catalog --labelled ../shared/data/music/data_moods.csv --out models/mood
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report, confusion_matrix
from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedKFold, cross_val_predict, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from moodtunes.core.catalog import FEATURES, load_catalog
from moodtunes.core.mood import MOODS
from moodtunes.core.mood_classifier import METADATA_FILE, MODEL_FILE

# --- hyper-parameters ------------------------------------------------------------------------------------------
# Every audio feature both catalogs share; length helps a little (calm and sad tracks run longer).
CLASSIFIER_FEATURES = (*FEATURES, "length")
CV_SPLITS, CV_REPEATS, SEED = 5, 3, 0
CANDIDATES: dict[str, Callable[[], Pipeline]] = {
    "knn": lambda: make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=25, weights="distance")),
    "logistic": lambda: make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)),
    # Calibrated on inner folds: the catalog keeps each track's mood probability, so it should mean something.
    "svm": lambda: make_pipeline(StandardScaler(), CalibratedClassifierCV(SVC(C=3.0), ensemble=False)),
    "random_forest": lambda: make_pipeline(RandomForestClassifier(n_estimators=300, random_state=SEED)),
    "gradient_boosting": lambda: make_pipeline(
        HistGradientBoostingClassifier(max_iter=150, learning_rate=0.05, random_state=SEED)),
}


@dataclass(frozen=True)
class CandidateScore:
    name: str
    mean: float
    std: float


@dataclass(frozen=True)
class TrainingResult:
    scores: list[CandidateScore]
    best: str
    confusion: np.ndarray
    report: str
    metadata: dict


def load_training_data(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Features and moods of a hand-labelled catalog (validated like any catalog)."""
    catalog = load_catalog(path)
    return catalog[list(CLASSIFIER_FEATURES)].to_numpy(float), catalog["mood"].to_numpy()


def compare(x: np.ndarray, y: np.ndarray, names: Sequence[str]) -> list[CandidateScore]:
    """Stratified k-fold accuracy, repeated with reshuffles, for each candidate; best first."""
    folds = RepeatedStratifiedKFold(n_splits=CV_SPLITS, n_repeats=CV_REPEATS, random_state=SEED)
    scores = []
    for name in names:
        accuracy = cross_val_score(CANDIDATES[name](), x, y, cv=folds, scoring="accuracy")
        scores.append(CandidateScore(name, float(accuracy.mean()), float(accuracy.std())))
    return sorted(scores, key=lambda s: -s.mean)


def train(labelled: Path, out: Path, names: Sequence[str] = tuple(CANDIDATES)) -> TrainingResult:
    """Compare, pick the best, report its cross-validated confusion matrix, refit on everything, save."""
    unknown = [n for n in names if n not in CANDIDATES]
    if unknown:
        raise ValueError(f"unknown classifier(s) {', '.join(unknown)}; choose from {', '.join(CANDIDATES)}")
    x, y = load_training_data(labelled)
    scores = compare(x, y, names)
    best = scores[0].name
    predicted = cross_val_predict(CANDIDATES[best](), x, y,
                                  cv=StratifiedKFold(CV_SPLITS, shuffle=True, random_state=SEED))
    labels = [m for m in MOODS if m in set(y)]
    confusion = confusion_matrix(y, predicted, labels=labels)
    report = classification_report(y, predicted, labels=labels, digits=3)
    model = CANDIDATES[best]().fit(x, y)
    digest = hashlib.sha256(Path(labelled).read_bytes()).hexdigest()
    created = datetime.now(UTC)
    metadata = {
        "version": f"mood-{best}-{created:%Y%m%d}-{digest[:8]}",
        "classifier": best,
        "features": list(CLASSIFIER_FEATURES),
        "classes": [str(c) for c in model.classes_],
        "cv": {"splits": CV_SPLITS, "repeats": CV_REPEATS, "seed": SEED, "stratified": True,
               "accuracy": {s.name: {"mean": round(s.mean, 4), "std": round(s.std, 4)} for s in scores}},
        "confusion_matrix": {"labels": labels, "rows_true_columns_predicted": confusion.tolist()},
        "trained_on": {"file": Path(labelled).name, "rows": int(len(y)), "sha256": digest},
        "sklearn_version": sklearn.__version__,
        "created": created.isoformat(timespec="seconds"),
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out / MODEL_FILE, compress=3)
    (out / METADATA_FILE).write_text(json.dumps(metadata, indent=1) + "\n")
    return TrainingResult(scores, best, confusion, report, metadata)


def format_result(result: TrainingResult) -> str:
    """The comparison table, the winner's confusion matrix and per-mood report, as printed by the CLI."""
    cv = result.metadata["cv"]
    lines = [f"{cv['splits']}-fold stratified CV x {cv['repeats']} repeats, "
             f"{result.metadata['trained_on']['rows']} tracks, features: {', '.join(result.metadata['features'])}",
             f"{'classifier':<18} {'accuracy':>9} {'± std':>7}"]
    lines += [f"{s.name:<18} {s.mean:>9.2%} {s.std:>7.2%}" for s in result.scores]
    labels = result.metadata["confusion_matrix"]["labels"]
    frame = pd.DataFrame(result.confusion, index=[f"true {m}" for m in labels], columns=labels)
    lines += ["", f"best: {result.best} — confusion matrix (5-fold out-of-fold predictions):",
              frame.to_string(), "", result.report.rstrip()]
    return "\n".join(lines)
