"""Accuracy, per-class recall and the confusion matrix of an emotion model on labelled faces."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moodtunes.core.emotions import EMOTIONS


@dataclass(frozen=True)
class EvaluationReport:
    accuracy: float
    n: int
    per_class: dict[str, float]  # recall per class (NaN-free: 0.0 where a class has no examples)
    confusion: list[list[int]]  # rows true, columns predicted, EMOTIONS order

    def labelled_confusion(self) -> dict:
        """The confusion matrix with its labels, in the form the catalog mood classifier's metadata uses."""
        return {"labels": list(EMOTIONS), "rows_true_columns_predicted": self.confusion}

    def as_dict(self) -> dict:
        return {"accuracy": self.accuracy, "n": self.n, "per_class": self.per_class,
                "confusion": self.labelled_confusion()}


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


def plot_confusion(report: EvaluationReport, path: Path, title: str) -> Path:
    """Row-normalised confusion matrix (recall on the diagonal) as a PNG, emotions on both axes."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    matrix = np.asarray(report.confusion, dtype=float)
    normalised = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6, 5))
    ConfusionMatrixDisplay(normalised, display_labels=EMOTIONS).plot(
        ax=ax, cmap="Blues", values_format=".2f", xticks_rotation=45, colorbar=False)
    ax.set_title(f"{title}: accuracy {report.accuracy:.3f} over {report.n}")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
