"""Accuracy, per-class recall and the confusion matrix of an emotion model on labelled faces."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from moodtunes.core.emotions import EMOTIONS


@dataclass(frozen=True)
class EvaluationReport:
    accuracy: float
    n: int
    per_class: dict[str, float]  # recall per class (NaN-free: 0.0 where a class has no examples)
    confusion: list[list[int]]  # rows true, columns predicted, EMOTIONS order

    def as_dict(self) -> dict:
        return {"accuracy": self.accuracy, "n": self.n, "per_class": self.per_class, "confusion": self.confusion}


def evaluate_predictions(labels: np.ndarray, predicted: np.ndarray) -> EvaluationReport:
    from sklearn.metrics import accuracy_score, confusion_matrix, recall_score

    labels, predicted = np.asarray(labels, dtype=int), np.asarray(predicted, dtype=int)
    k = len(EMOTIONS)
    if not len(labels):  # scikit-learn refuses empty input; nothing scored is all zeros
        return EvaluationReport(0.0, 0, {name: 0.0 for name in EMOTIONS}, np.zeros((k, k), dtype=int).tolist())
    recall = recall_score(labels, predicted, labels=range(k), average=None, zero_division=0)
    return EvaluationReport(
        accuracy=float(accuracy_score(labels, predicted)),
        n=len(labels),
        per_class={name: round(float(r), 4) for name, r in zip(EMOTIONS, recall, strict=True)},
        confusion=confusion_matrix(labels, predicted, labels=range(k)).tolist(),
    )
