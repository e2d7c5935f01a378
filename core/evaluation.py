"""Accuracy, per-class recall and the confusion matrix of an emotion model on labelled faces."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.emotions import EMOTIONS


@dataclass(frozen=True)
class EvaluationReport:
    accuracy: float
    n: int
    per_class: dict[str, float]  # recall per class (NaN-free: 0.0 where a class has no examples)
    confusion: list[list[int]]  # rows true, columns predicted, EMOTIONS order

    def as_dict(self) -> dict:
        return {"accuracy": self.accuracy, "n": self.n, "per_class": self.per_class, "confusion": self.confusion}


def evaluate_predictions(labels: np.ndarray, predicted: np.ndarray) -> EvaluationReport:
    labels, predicted = np.asarray(labels, dtype=int), np.asarray(predicted, dtype=int)
    k = len(EMOTIONS)
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (labels, predicted), 1)
    support = confusion.sum(axis=1)
    recall = np.divide(np.diag(confusion), support, out=np.zeros(k), where=support > 0)
    return EvaluationReport(
        accuracy=float(np.trace(confusion) / max(1, confusion.sum())),
        n=int(confusion.sum()),
        per_class={name: round(float(r), 4) for name, r in zip(EMOTIONS, recall, strict=True)},
        confusion=confusion.tolist(),
    )
