"""Recommendation quality, old (plain nearest neighbours) beside new (anchors, sampling, novelty), per catalog.

    python -m benchmarks.rec_quality [--answers 4000] [--users 300] [--days 12] [--queries 2000]

Fixed seeds throughout. Measures, per catalog (686 hand-labelled, 40k labelled by the mood classifier):
- first-page coverage and exposure Gini over ``--answers`` answers to varied emotion vectors (new users, both
  strategies), intra-list diversity (mean pairwise distance in standardised feature space) and mood consistency
  (share of tracks whose catalog mood is the target mood);
- simulated users over ``--days`` days (one answer a day, 👍/👎 on every track from a hidden taste): repeats of a
  track among the user's last 200 shown (users who never vote), and like-rate on days 2+ with feedback (votes
  stored: dislikes excluded, likes steer) vs without;
- recommend() latency at 40k and on a synthetic 250k catalog, and catalog start-up time.
Prints a table; docs/recommendations.md quotes it.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter, deque
from dataclasses import dataclass

import numpy as np

from benchmarks.bench_pipeline import percentiles, synthetic_catalog
from moodtunes.core.catalog import FEATURES, load_catalog
from moodtunes.core.catalog_build import BUILT_CATALOG, build_catalog, served_catalog
from moodtunes.core.emotions import EMOTIONS
from moodtunes.core.mood import STRATEGIES, MoodMap
from moodtunes.core.recommender import Recommender, Variety
from moodtunes.core.settings import MOODS_CATALOG, Settings

SEED = 12
K = 5
RECENT = 200  # the service's novelty window (tracks)
FREE = [i for i, f in enumerate(FEATURES) if f not in ("valence", "energy")]  # what the emotion does not fix
TASTE_FEATURES, TASTE_WIDTH = 3, 1.2  # a simulated user cares about 3 of them; like-chance e^-(distance/width)^2


def emotion_vectors(n: int, rng: np.random.Generator, dominant: int | None = None) -> np.ndarray:
    """Varied probability vectors: one emotion dominant (random unless given), the rest Dirichlet noise."""
    vectors = rng.dirichlet(np.full(len(EMOTIONS), 0.4), size=n)
    strongest = rng.integers(len(EMOTIONS), size=n) if dominant is None else np.full(n, dominant)
    vectors[np.arange(n), strongest] += rng.uniform(0.5, 3.0, size=n)
    return vectors / vectors.sum(axis=1, keepdims=True)


def gini(counts: np.ndarray) -> float:
    """Exposure inequality over every catalog track (0: all shown equally, 1: one track takes everything)."""
    x = np.sort(counts.astype(float))
    n = len(x)
    return float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * x.sum()))


def intra_list_diversity(recommender: Recommender, ids: list[str]) -> float:
    v = recommender.vectors(ids)
    d = np.linalg.norm(v[:, None] - v[None], axis=-1)
    return float(d[np.triu_indices(len(v), 1)].mean())


@dataclass
class AnswerStats:
    coverage: float
    gini: float
    diversity: float
    consistency: float
    confidence: float
    target_gap: float  # mean |valence - target| + |energy - target| of the returned tracks (0..2): the fit


def answer_stats(recommender: Recommender, mood_map: MoodMap, answers: int) -> AnswerStats:
    rng = np.random.default_rng(SEED)
    exposure: Counter[str] = Counter()
    diversity, consistent, confidence, gaps, shown = [], 0, [], [], 0
    plane = recommender.catalog.set_index("id")[["valence", "energy"]]
    catalog = recommender.catalog
    probability = dict(zip(catalog["id"], catalog["mood_probability"] if "mood_probability" in catalog
                           else [1.0] * len(catalog), strict=True))
    for i, vector in enumerate(emotion_vectors(answers, rng)):
        target = mood_map.target(tuple(vector), STRATEGIES[i % 2])
        ids = [t.id for t in recommender.recommend(target.mood, target=target, k=K).tracks]
        exposure.update(ids)
        diversity.append(intra_list_diversity(recommender, ids))
        consistent += sum(recommender.mood_of(t) == target.mood for t in ids)
        confidence += [probability[t] for t in ids]
        gaps += list(np.abs(plane.loc[ids].to_numpy() - [target.valence, target.energy]).sum(axis=1))
        shown += len(ids)
    counts = np.zeros(len(recommender.catalog))
    counts[: len(exposure)] = list(exposure.values())
    return AnswerStats(len(exposure) / len(recommender.catalog), gini(counts), float(np.mean(diversity)),
                       consistent / shown, float(np.mean(confidence)), float(np.mean(gaps)))


def uniform_within_mood(recommender: Recommender, mood_map: MoodMap, answers: int) -> tuple[float, float]:
    """Coverage and Gini if every answer were 5 tracks drawn at random from its mood, ignoring valence/energy:
    the most even exposure any recommender that keeps the mood can reach with these answers."""
    rng = np.random.default_rng(SEED)
    moods = recommender.catalog["mood"].to_numpy()
    rows = {m: np.flatnonzero(moods == m) for m in recommender.moods}
    counts = np.zeros(len(moods))
    for i, vector in enumerate(emotion_vectors(answers, rng)):
        mood = mood_map.target(tuple(vector), STRATEGIES[i % 2]).mood
        counts[rng.choice(rows[mood], size=K, replace=False)] += 1
    return float((counts > 0).mean()), gini(counts)


class SimulatedUser:
    """A hidden taste: a favourite spot in TASTE_FEATURES of the features the emotion leaves free (a real track's,
    jittered); a like is likelier the closer a track sits to it. Also a usual emotion and a strategy."""

    def __init__(self, recommender: Recommender, rng: np.random.Generator) -> None:
        favourite = recommender.vectors([recommender.catalog["id"].iloc[rng.integers(len(recommender.catalog))]])[0]
        self.cares = rng.choice(FREE, size=TASTE_FEATURES, replace=False)
        self.taste = favourite[self.cares] + rng.normal(0, 0.3, size=TASTE_FEATURES)
        self.emotion = int(rng.integers(len(EMOTIONS)))
        self.strategy = STRATEGIES[int(rng.integers(2))]

    def likes(self, recommender: Recommender, ids: list[str], rng: np.random.Generator) -> list[bool]:
        distance = np.linalg.norm(recommender.vectors(ids)[:, self.cares] - self.taste, axis=1)
        return list(rng.random(len(ids)) < np.exp(-((distance / TASTE_WIDTH) ** 2)))


@dataclass
class UserStats:
    repeats_per_user: float  # tracks shown again within the user's last 200, per user who never votes
    like_rate_without: float
    like_rate_with: float


def simulate_users(recommender: Recommender, mood_map: MoodMap, users: int, days: int, novelty: bool) -> UserStats:
    rates = {}
    repeats = 0
    for feedback in (False, True):
        rng = np.random.default_rng(SEED + 1)
        recommender_rng = np.random.default_rng(SEED + 2)
        liked_votes = total_votes = 0
        for _ in range(users):
            user = SimulatedUser(recommender, rng)
            shown: deque[str] = deque(maxlen=RECENT)
            liked: list[str] = []
            disliked: set[str] = set()
            for day, vector in enumerate(emotion_vectors(days, rng, dominant=user.emotion)):
                target = mood_map.target(tuple(vector), user.strategy)
                recent = tuple(reversed(shown)) if novelty else ()
                ids = [t.id for t in recommender.recommend(
                    target.mood, target=target, k=K, exclude=frozenset(disliked) if feedback else frozenset(),
                    liked_ids=tuple(reversed(liked)) if feedback else (), recent=recent, rng=recommender_rng).tracks]
                if not feedback:  # users who never vote: only novelty keeps answers new
                    repeats += sum(1 for t in ids if t in shown)
                votes = user.likes(recommender, ids, rng)
                if day > 0:
                    liked_votes += sum(votes)
                    total_votes += len(votes)
                shown.extend(ids)
                if feedback:
                    liked += [t for t, v in zip(ids, votes, strict=True) if v and t not in liked]
                    disliked |= {t for t, v in zip(ids, votes, strict=True) if not v}
        rates[feedback] = liked_votes / total_votes
    return UserStats(repeats / users, rates[False], rates[True])


def latency_ms(recommender: Recommender, mood_map: MoodMap, queries: int) -> tuple[float, float]:
    """recommend() per answer, with a 200-track recent list and 20 likes, as the service calls it."""
    rng = np.random.default_rng(SEED + 3)
    ids = recommender.catalog["id"].to_numpy()
    times = []
    for i, vector in enumerate(emotion_vectors(queries, rng)):
        target = mood_map.target(tuple(vector), STRATEGIES[i % 2])
        recent = tuple(ids[rng.integers(len(ids), size=RECENT)])
        started = time.perf_counter()
        recommender.recommend(target.mood, target=target, k=K, recent=recent, liked_ids=recent[:20])
        times.append((time.perf_counter() - started) * 1000)
    return percentiles(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=4000)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--days", type=int, default=12)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--big-catalog", type=int, default=250_000)
    args = parser.parse_args()

    settings = Settings(_env_file=None)
    mood_map = MoodMap.load(settings.mood_map_path)
    started = time.perf_counter()
    built = build_catalog(settings.catalog_source, settings.mood_classifier_dir, settings.data_dir / BUILT_CATALOG)
    build_s = time.perf_counter() - started
    served_catalog(settings)  # writes the validated-frame cache on a fresh build
    started = time.perf_counter()
    big = served_catalog(settings)
    Recommender(big)
    startup_s = time.perf_counter() - started
    catalogs = {f"{len(load_catalog(MOODS_CATALOG))}": load_catalog(MOODS_CATALOG), f"{len(big) // 1000}k": big}

    header = ("catalog", "recommender", "coverage", "Gini", "diversity", "mood consistency", "mood prob.", "V/E gap",
              "repeats/user", "like-rate no fb", "like-rate fb", "lift")
    rows = []
    for name, catalog in catalogs.items():
        coverage, spread = uniform_within_mood(Recommender(catalog), mood_map, args.answers)
        rows.append((name, "random in mood", f"{coverage:.1%}", f"{spread:.3f}", *["(reference)"] + [""] * 7))
        for label, variety, novelty in (("old", Variety.off(), False), ("new", Variety(), True)):
            answers = answer_stats(Recommender(catalog, variety, seed=SEED), mood_map, args.answers)
            users = simulate_users(Recommender(catalog, variety, seed=SEED), mood_map, args.users, args.days, novelty)
            rows.append((name, label, f"{answers.coverage:.1%}", f"{answers.gini:.3f}", f"{answers.diversity:.2f}",
                         f"{answers.consistency:.3f}", f"{answers.confidence:.3f}", f"{answers.target_gap:.3f}",
                         f"{users.repeats_per_user:.1f}",
                         f"{users.like_rate_without:.3f}", f"{users.like_rate_with:.3f}",
                         f"{users.like_rate_with - users.like_rate_without:+.3f}"))
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    print(f"{args.answers} answers to varied emotion vectors (first page, {K} tracks); {args.users} users x "
          f"{args.days} days, like-rate on days 2+; seed {SEED}\n")
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))

    print()
    timing = [("default catalog build (import + label; 'up to date' when cached)",
               f"{build_s:.2f} s" + ("" if built.built else " (cached)"), ""),
              (f"catalog start-up: cached load + index build, {len(big):,} tracks", f"{startup_s:.2f} s", "")]
    new = Recommender(big, Variety(), seed=SEED)
    p50, p95 = latency_ms(new, mood_map, args.queries)
    timing.append((f"recommend() per answer, {len(big):,} tracks", f"{p50:.2f} ms", f"{p95:.2f} ms"))
    synthetic = synthetic_catalog(big, args.big_catalog, seed=SEED)
    p50, p95 = latency_ms(Recommender(synthetic, Variety(), seed=SEED), mood_map, args.queries)
    timing.append((f"recommend() per answer, {len(synthetic):,} synthetic tracks", f"{p50:.2f} ms", f"{p95:.2f} ms"))
    width = max(len(t[0]) for t in timing)
    print(f"{'measure':<{width}}  {'p50 / value':>12}  {'p95':>9}")
    for name, a, b in timing:
        print(f"{name:<{width}}  {a:>12}  {b:>9}")


if __name__ == "__main__":
    main()
