"""The feedback report on a small real data set (see seed.seed_feedback)."""

from __future__ import annotations

import pytest

from moodtunes.db.report import feedback_summary, plot, render_table
from moodtunes.db.store import Store

from .seed import seed_feedback

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def row(key: str | None, likes: int, dislikes: int) -> dict:
    votes = likes + dislikes
    return {"key": key, "likes": likes, "dislikes": dislikes, "votes": votes, "like_rate": pytest.approx(likes / votes)}


def test_summary_numbers(store: Store) -> None:
    seed_feedback(store)
    assert feedback_summary(store) == {
        "emotion": [row("happy", 2, 2), row("sad", 1, 0), row(None, 1, 1)],
        "mood": [row("calm", 1, 0), row("joyful", 3, 3)],
        "strategy": [row("match", 3, 3), row("uplift", 1, 0)],
        "model_version": [row("v1", 3, 2), row(None, 1, 1)],
    }


def test_empty_summary(store: Store) -> None:
    store.user_id("telegram", "1")
    summary = feedback_summary(store)
    assert summary == {"emotion": [], "mood": [], "strategy": [], "model_version": []}
    assert render_table(summary).count("(no votes)") == 4


def test_render_table(store: Store) -> None:
    seed_feedback(store)
    lines = render_table(feedback_summary(store)).splitlines()
    assert lines[0].split() == ["emotion", "likes", "dislikes", "votes", "like", "rate"]
    assert lines[2].split() == ["happy", "2", "2", "4", "50.0%"]
    assert lines[3].split() == ["sad", "1", "0", "1", "100.0%"]
    assert lines[4].split() == ["(none)", "1", "1", "2", "50.0%"]
    assert ["v1", "3", "2", "5", "60.0%"] in [line.split() for line in lines]


def test_plot_writes_a_png(store: Store, tmp_path) -> None:
    seed_feedback(store)
    path = plot(feedback_summary(store), tmp_path / "out" / "feedback.png")
    assert path.read_bytes().startswith(PNG_MAGIC)
    empty = plot({"emotion": [], "mood": [], "strategy": [], "model_version": []}, tmp_path / "empty.png")
    assert empty.read_bytes().startswith(PNG_MAGIC)
