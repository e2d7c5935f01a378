"""Choose between candidate models and their averages on labelled faces, each scored as it would be served.

    moodtunes train compare --data ../shared/data/fer2013/val --model models/candidates/run4 \
        --model models/candidates/boost-v1 --model models/candidates/default-v3 \
        --recall-floor disgust=0.554 --recall-floor fear=0.470 --recall-floor sad=0.505

Every member's served probabilities (its test-time flip included) are computed once; every non-empty subset of the
members is then scored by averaging them, as `moodtunes train ensemble` averages the same members inside one graph
(each member is scored from its own file here, while a built graph quantizes every member to int8, which moves a few
faces: run 4's float32 file averaged with boost-v1 reads 68.26 % on PublicTest, their shipped int8 graph 68.40 %).
Each model is also timed here as served (one thread, one face per call, its flip included; p50 over up to
TIMING_FACES faces) and a subset's time is the sum of its members': about what their one-graph ensemble costs where
int8 weights run no faster than float32 (AVX2-only CPUs), an upper bound where they do and a member's file is float32.
A subset passes the shipping rule when it beats the baseline (by default the shipped model) by ``min_gain``, its files
fit ``max_megabytes``, its time fits ``max_ms`` on this machine, it has at most ``max_members`` members (the budget
of a slower CPU than this one: an AVX2-only CPU fits four default-size members in 25 ms) and every recall floor is
exceeded. Time the built ensemble itself with ``python -m benchmarks.bench_served``; CPUs differ by five times
(docs/performance.md).

This is choosing between candidates on val, which is all val is for here; it tunes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from itertools import combinations
from pathlib import Path

import numpy as np

from moodtunes.core.dataset import labelled_images, read_faces
from moodtunes.core.emotion import MODEL_FILE, EmotionModel
from moodtunes.core.emotions import EMOTIONS
from moodtunes.core.evaluation import evaluate_predictions
from moodtunes.training.ferplus import majority_accuracy, majority_for_files
from moodtunes.training.finalize import MODEL_FOLDER, served_folder

MAX_MEMBERS = 10  # 1,023 subsets; each is an average of arrays already computed
TIMING_FACES = 200  # timed per model, one call each after a 10-face warm-up: seconds, not minutes, per model


@dataclass(frozen=True)
class ScoredModel:
    """One model or average of models, scored on the labelled faces."""

    members: tuple[str, ...]
    accuracy: float
    per_class: dict[str, float]
    megabytes: float  # the members' model files together, about the size of their ensemble's file
    ms_per_face: float | None = None  # the members' p50 times together, one thread, on this machine
    ferplus_accuracy: float | None = None
    passes: bool | None = None  # the shipping rule; None for the baseline itself
    failed: tuple[str, ...] = field(default=())  # which parts of the rule it misses

    def as_dict(self) -> dict:
        return {"members": list(self.members), "accuracy": round(self.accuracy, 4), "per_class": self.per_class,
                "megabytes": round(self.megabytes, 2),
                "ms_per_face": None if self.ms_per_face is None else round(self.ms_per_face, 2),
                "ferplus_majority_accuracy": self.ferplus_accuracy,
                "passes": self.passes, "failed": list(self.failed)}


@dataclass(frozen=True)
class ShippingRule:
    min_gain: float = 0.005  # accuracy over the baseline's, as a fraction
    max_megabytes: float = 25.0
    max_ms: float = 25.0  # per face, p50, one thread, as served
    # the time budget on a slower CPU than this one, where this one's timings would pass too many members
    max_members: int | None = None
    recall_floors: dict[str, float] = field(default_factory=dict)  # emotion -> recall to exceed

    def misses(self, candidate: ScoredModel, baseline: ScoredModel | None) -> tuple[str, ...]:
        failed = []
        if baseline is not None and candidate.accuracy < baseline.accuracy + self.min_gain - 1e-9:
            failed.append(f"val < {100 * (baseline.accuracy + self.min_gain):.2f} %")
        if candidate.megabytes > self.max_megabytes:
            failed.append(f"files > {self.max_megabytes:g} MB")
        if candidate.ms_per_face is not None and candidate.ms_per_face > self.max_ms:
            failed.append(f"{candidate.ms_per_face:.1f} ms > {self.max_ms:g} ms")
        if self.max_members is not None and len(candidate.members) > self.max_members:
            failed.append(f"{len(candidate.members)} members > {self.max_members}")
        failed += [f"{emotion} ≤ {100 * floor:.1f}" for emotion, floor in self.recall_floors.items()
                   if candidate.per_class[emotion] <= floor]
        return tuple(failed)


def member_names(models: list[Path]) -> list[str]:
    """Each model's folder name (a run's, for its exported model/), or its whole path where two share a name."""
    names = [(Path(model).parent if Path(model).name == MODEL_FOLDER else Path(model)).name for model in models]
    return [name if names.count(name) == 1 else str(model) for name, model in zip(names, models, strict=True)]


def served_ms_per_face(model: EmotionModel, faces: np.ndarray) -> tuple[float, float]:
    """(p50, p95) milliseconds of one ``predict_proba`` call per face (test-time views included), after a warm-up
    on the first ten faces; give the model one thread to measure what the issue's budget counts."""
    for face in faces[:10]:
        model.predict_proba(face[None])
    timings = []
    for face in faces:
        started = time.perf_counter()
        model.predict_proba(face[None])
        timings.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(timings, 50)), float(np.percentile(timings, 95))


def served_scores(folder: Path, paths: list[Path], threads: int) -> tuple[np.ndarray, float]:
    """(the folder's served probabilities for every face, its p50 ms per face on one thread)."""
    model = EmotionModel(folder, threads)
    faces = read_faces(paths, model.input_size)
    p50, _ = served_ms_per_face(EmotionModel(folder, threads=1), faces[:TIMING_FACES])
    return model.predict_many(faces), p50


def compare(data: Path, models: list[Path], baseline: Path | None = None, rule: ShippingRule | None = None,
            votes_file: Path | None = None, threads: int = 1) -> tuple[ScoredModel | None, list[ScoredModel]]:
    """(the baseline scored alone, every subset of ``models`` scored and judged), best accuracy first.

    Raises ModelError for a folder that is not a servable model, ValueError for unusable input, FileNotFoundError for
    a missing data folder."""
    if not models:
        raise ValueError("give at least one model to compare")
    models = [served_folder(model) for model in models]
    if len(models) > MAX_MEMBERS:
        raise ValueError(f"at most {MAX_MEMBERS} models at once ({2 ** MAX_MEMBERS - 1} subsets), got {len(models)}")
    if len({Path(m).resolve() for m in models}) != len(models):
        raise ValueError("each model may be given once")
    rule = rule or ShippingRule()
    unknown = sorted(set(rule.recall_floors) - set(EMOTIONS))
    if unknown:
        raise ValueError(f"recall floors for unknown emotions: {', '.join(unknown)}")
    items = labelled_images(data)
    if not items:
        raise ValueError(f"{data}: no images in folders named after the seven emotions")
    paths, labels = [path for path, _ in items], np.array([label for _, label in items])
    majority = majority_for_files(paths, votes_file) if votes_file is not None else np.full(len(paths), -1)

    def scored(members: tuple[str, ...], probs: np.ndarray, megabytes: float, ms: float) -> ScoredModel:
        predicted = probs.argmax(axis=1)
        report = evaluate_predictions(labels, predicted)
        ferplus, voted = majority_accuracy(predicted, majority)
        return ScoredModel(members, report.accuracy, report.per_class, megabytes, ms,
                           round(ferplus, 4) if voted else None)  # None: no face here has votes

    def size(folder: Path) -> float:
        return (Path(folder) / MODEL_FILE).stat().st_size / 1e6

    base = None
    if baseline is not None:
        baseline = served_folder(baseline)
        probs, ms = served_scores(baseline, paths, threads)
        base = scored((member_names([baseline])[0],), probs, size(baseline), ms)
    names = member_names(models)
    probabilities, sizes, times = {}, {}, {}
    for name, folder in zip(names, models, strict=True):
        probabilities[name], times[name] = served_scores(folder, paths, threads)
        sizes[name] = size(folder)
    results = []
    for k in range(1, len(names) + 1):
        for members in combinations(names, k):
            candidate = scored(members, np.mean([probabilities[m] for m in members], axis=0),
                               sum(sizes[m] for m in members), sum(times[m] for m in members))
            failed = rule.misses(candidate, base)
            results.append(replace(candidate, passes=not failed, failed=failed))
    results.sort(key=lambda r: (-r.accuracy, len(r.members)))
    return base, results


def markdown_table(baseline: ScoredModel | None, results: list[ScoredModel]) -> str:
    """The comparison as a Markdown table (the form docs/models.md keeps), baseline first."""
    show_ferplus = any(r.ferplus_accuracy is not None for r in results)
    header = ["models", "val"] + (["FER+ majority"] if show_ferplus else []) + list(EMOTIONS) + ["MB", "ms", "rule"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    rows = ([(baseline, "baseline")] if baseline else []) + [(r, "passes" if r.passes else "; ".join(r.failed))
                                                            for r in results]
    for row, verdict in rows:
        cells = [" + ".join(row.members), f"{100 * row.accuracy:.2f} %"]
        if show_ferplus:
            cells.append("—" if row.ferplus_accuracy is None else f"{100 * row.ferplus_accuracy:.2f} %")
        cells += [f"{100 * row.per_class[e]:.1f}" for e in EMOTIONS] + [f"{row.megabytes:.1f}"]
        cells += ["—" if row.ms_per_face is None else f"{row.ms_per_face:.1f}", verdict]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
