"""The /history chart: a user's moods over time and their like-rate, as PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from moodtunes.core.mood import MOODS
from moodtunes.db.records import EventRecord

MOOD_COLOURS = {"Happy": "tab:orange", "Sad": "tab:blue", "Energetic": "tab:red", "Calm": "tab:green"}


def render(events: Sequence[EventRecord], votes: Mapping[int, tuple[int, int]]) -> bytes:
    """Top: each answer's mood at its time. Bottom: like-rate per day (likes / votes), vote counts on the bars."""
    # The Figure API with the Agg canvas never touches pyplot's global state: safe in the bot's worker threads.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    ordered = sorted(events, key=lambda e: (e.created_at, e.id))
    figure = Figure(figsize=(8, 5), layout="constrained")
    FigureCanvasAgg(figure)
    moods_ax, likes_ax = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    for mood in MOODS:
        times = [e.created_at for e in ordered if e.mood == mood]
        moods_ax.scatter(times, [MOODS.index(mood)] * len(times), color=MOOD_COLOURS[mood], s=40, label=mood)
    known = [e for e in ordered if e.mood in MOODS]
    moods_ax.plot([e.created_at for e in known], [MOODS.index(e.mood) for e in known], color="grey", linewidth=0.6,
                  alpha=0.5)
    moods_ax.set_yticks(range(len(MOODS)), MOODS)
    moods_ax.set_ylim(-0.5, len(MOODS) - 0.5)
    moods_ax.set_title(f"Your moods — last {len(ordered)} answers")

    days: dict = {}
    for e in ordered:
        likes, dislikes = votes.get(e.id, (0, 0))
        day = e.created_at.replace(hour=12, minute=0, second=0, microsecond=0)
        total = days.setdefault(day, [0, 0])
        total[0] += likes
        total[1] += likes + dislikes
    voted = {day: (likes, n) for day, (likes, n) in days.items() if n}
    likes_ax.set_ylim(0, 1.15)
    likes_ax.set_ylabel("like-rate")
    if voted:
        bars = likes_ax.bar(list(voted), [likes / n for likes, n in voted.values()], width=0.6, color="tab:green")
        labels = [f"{n} vote" if n == 1 else f"{n} votes" for _, n in voted.values()]
        likes_ax.bar_label(bars, labels=labels, fontsize=7, padding=2)
    else:
        likes_ax.text(0.5, 0.5, "no votes yet", ha="center", va="center", transform=likes_ax.transAxes)
    figure.autofmt_xdate()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()
