"""Feedback report: like-rate per emotion, mood, strategy and model version, as a table or a PNG."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from moodtunes.db.records import FeedbackCount
from moodtunes.db.store import GROUPINGS, Store

NONE_LABEL = "(none)"  # how a NULL key (e.g. no emotion for a "mood" request) is shown


def feedback_summary(store: Store) -> dict[str, list[dict[str, Any]]]:
    """Per grouping, one row per value: ``key, likes, dislikes, votes, like_rate`` (0..1).

    Every stored vote counts once (the current value of each (event, user, track) vote).
    Rows are sorted by key, with the NULL key (None) last.
    """
    return {by: [_row(count) for count in _sorted(store.feedback_counts(by))] for by in GROUPINGS}


def render_table(summary: dict[str, list[dict[str, Any]]]) -> str:
    """A plain-text table per grouping, e.g. ``emotion  likes  dislikes  votes  like rate``."""
    sections = []
    for by, rows in summary.items():
        header = (by, "likes", "dislikes", "votes", "like rate")
        body = [
            (_label(r["key"]), str(r["likes"]), str(r["dislikes"]), str(r["votes"]), f"{r['like_rate']:.1%}")
            for r in rows
        ]
        widths = [max(len(line[i]) for line in (header, *body)) for i in range(len(header))]

        def fmt(line: tuple[str, ...], widths: list[int] = widths) -> str:
            # The key column is left-aligned text, the counts right-aligned numbers.
            cells = [line[0].ljust(widths[0])] + [cell.rjust(w) for cell, w in zip(line[1:], widths[1:], strict=True)]
            return "  ".join(cells).rstrip()

        lines = [fmt(header), "  ".join("-" * w for w in widths)]
        lines += [fmt(line) for line in body] if body else ["(no votes)"]
        sections.append("\n".join(lines))
    return "\n\n".join(sections) + "\n"


def plot(summary: dict[str, list[dict[str, Any]]], path: str | Path) -> Path:
    """Write one PNG with a like-rate bar chart per grouping (vote counts over the bars)."""
    # Imported here: matplotlib is slow to import and only this function needs it. The Figure API
    # with the Agg canvas never touches pyplot's global backend, so it is safe in any process.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    groupings = list(summary)
    columns = 2
    rows = max(1, math.ceil(len(groupings) / columns))
    figure = Figure(figsize=(6 * columns, 4 * rows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, by in zip(axes, groupings, strict=False):  # a 2x2 grid may have spare axes
        data = summary[by]
        ax.set_title(f"like rate by {by}")
        ax.set_ylim(0, 1.1)
        ax.set_ylabel("like rate")
        if not data:
            ax.text(0.5, 0.5, "no votes", ha="center", va="center", transform=ax.transAxes)
            continue
        bars = ax.bar([_label(r["key"]) for r in data], [r["like_rate"] for r in data], color="tab:green")
        ax.bar_label(bars, labels=[f"n={r['votes']}" for r in data], padding=2, fontsize=8)
        ax.tick_params(axis="x", labelrotation=30)
    for ax in axes[len(groupings) :]:
        ax.set_visible(False)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=100)
    return path


def _row(count: FeedbackCount) -> dict[str, Any]:
    votes = count.likes + count.dislikes
    return {
        "key": count.key,
        "likes": count.likes,
        "dislikes": count.dislikes,
        "votes": votes,
        "like_rate": count.likes / votes if votes else 0.0,
    }


def _sorted(counts: list[FeedbackCount]) -> list[FeedbackCount]:
    return sorted(counts, key=lambda c: (c.key is None, c.key or ""))


def _label(key: str | None) -> str:
    return NONE_LABEL if key is None else str(key)
