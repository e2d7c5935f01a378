"""What the bot says and remembers, for every chat front end: one conversation service over the core
pipeline and the store. Adapters only translate their platform's events into these calls and render the
returned Answer (text + which buttons). Calls are synchronous: adapters run them in a worker thread."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy.exc import SQLAlchemyError

from bot import history_chart
from core import messages
from core.errors import ImageRejected, UnknownMood
from core.mood import MOODS, STRATEGIES
from core.pipeline import Pipeline
from core.recommender import Track
from db.store import Store

log = logging.getLogger("moodtunes.bot")

HELP = (
    "Send me a selfie and I'll guess how you feel and pick five songs for it.\n"
    "/mood — pick a mood yourself (Happy, Sad, Energetic, Calm), e.g. /mood sad\n"
    "/settings — choose: music that matches your mood, or music that lifts it\n"
    "/history — your last moods\n"
    "/mydata — everything I store about you\n"
    "/forgetme — delete all of it\n"
    "Press 👍 or 👎 on a song: I'll remember, and never play you a song you disliked again."
)
STRATEGY_LABEL = {"match": "Match my mood", "uplift": "Lift me up"}
NOT_SAVED = "(I couldn't save this answer just now, so its buttons are off — the songs are still yours.)"
NOT_YOURS = "That answer belongs to someone else — send your own selfie and I'll pick songs for you!"
VOTE_NOT_SAVED = "I couldn't save your vote just now — please press it again in a moment."
HISTORY_CHART_EVENTS = 200  # answers the /history chart covers


@dataclass(frozen=True)
class Answer:
    """A reply, platform-neutral. ``kind``: tracks | no_face | rejected | info | confirm_forget."""

    kind: str
    text: str
    title: str | None = None  # the headline (emotion or mood line) for adapters that show one
    event_id: int | None = None
    tracks: tuple[Track, ...] = ()
    strategy: str | None = None
    offer_moods: bool = False
    offer_strategies: bool = False
    extra: dict = field(default_factory=dict)
    image: bytes | None = None  # a PNG to send with the text (the /history chart)

    @property
    def other_strategy(self) -> str | None:
        if self.strategy is None or self.event_id is None:
            return None
        return next(s for s in STRATEGIES if s != self.strategy)


class FloodGuard:
    """Per-user sliding one-minute window of photos."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, platform: str, user: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            window = self._seen[(platform, user)]
            while window and now - window[0] > 60:
                window.popleft()
            if len(window) >= self.per_minute:
                return False
            window.append(now)
            return True


def format_tracks(tracks: tuple[Track, ...], first_number: int = 1) -> str:
    return "\n".join(f"{n}. {t.artist} — {t.name}\n   {t.spotify_url}" for n, t in enumerate(tracks, first_number))


class ChatService:
    def __init__(self, pipeline: Pipeline, store: Store, *, photos_per_minute: int = 10) -> None:
        self.pipeline = pipeline
        self.store = store
        self.flood = FloodGuard(photos_per_minute)
        # Photos get their own threads: inference (serialised by the model's lock anyway) must never occupy
        # the default pool that votes and commands use, or a 👍 would queue behind every waiting photo.
        self._photo_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="moodtunes-photo")

    # --- helpers -------------------------------------------------------------------------------------------
    def _user(self, platform: str, user: str) -> int:
        return self.store.user_id(platform, str(user))

    def _strategy(self, user_id: int) -> str:
        strategy = self.store.user_settings(user_id).get("strategy")
        return strategy if strategy in STRATEGIES else self.pipeline.settings.default_strategy

    def _taste(self, user_id: int) -> tuple[frozenset[str], tuple[str, ...]]:
        """Disliked ids (never again) and liked ids (pull the query point), newest likes first."""
        return frozenset(self.store.disliked_track_ids(user_id)), tuple(self.store.liked_track_ids(user_id)[:20])

    def _recent(self, user_id: int) -> tuple[str, ...]:
        """Tracks shown to the user lately, newest first: a new answer brings others (novelty)."""
        return tuple(self.store.recently_shown_track_ids(user_id))

    # --- photos --------------------------------------------------------------------------------------------
    def admit_photo(self, platform: str, user: str) -> Answer | None:
        """Flood check, for adapters to call before downloading: None if the photo may come in."""
        if self.flood.allow(platform, str(user)):
            return None
        return Answer("info", messages.TOO_MANY_PHOTOS)

    @staticmethod
    def reject_photo(error: ImageRejected) -> Answer:
        """The answer for a file refused before download (too big, not an image)."""
        log.info("photo refused before download (%s): %s", type(error).__name__, error)
        return Answer("rejected", messages.friendly_rejection(error), offer_moods=True)

    async def handle_photo_async(self, platform: str, user: str, data: bytes, *, admitted: bool = False) -> Answer:
        """handle_photo on the photo threads, for adapters running an event loop."""
        call = partial(self.handle_photo, platform, user, data, admitted=admitted)
        return await asyncio.get_running_loop().run_in_executor(self._photo_pool, call)

    def handle_photo(self, platform: str, user: str, data: bytes, *, admitted: bool = False) -> Answer:
        """Photo bytes -> an answer. ``admitted``: the adapter already ran admit_photo."""
        if not admitted and (refusal := self.admit_photo(platform, user)) is not None:
            return refusal
        try:
            user_id: int | None = self._user(platform, user)
            strategy = self._strategy(user_id)
            disliked, liked = self._taste(user_id)
            recent = self._recent(user_id)
        except SQLAlchemyError as exc:
            # The database is down or locked past its retries: still answer, just without personalisation.
            log.error("storage unavailable, answering %s photo without history: %s", platform, exc)
            user_id, strategy = None, self.pipeline.settings.default_strategy
            disliked, liked, recent = frozenset(), (), ()
        try:
            result = self.pipeline.recommend_photo(data, strategy, exclude=disliked, liked_ids=liked, recent=recent)
        except ImageRejected as exc:
            return self.reject_photo(exc)
        if not result.faces:
            return Answer("no_face", messages.NO_FACE, offer_moods=True)
        prediction = result.primary.prediction
        event_id = None
        if user_id is not None:
            try:
                event_id = self.store.record_event(
                    user_id, source="photo", emotion=prediction.emotion, probabilities=prediction.as_dict(),
                    mood=result.mood, strategy=strategy, model_version=self.pipeline.model_version,
                    faces=len(result.faces), track_ids=[t.id for t in result.tracks])
            except SQLAlchemyError as exc:
                log.error("could not store a %s recommendation event: %s", platform, exc)
        lines = [f"{messages.EMOJI[prediction.emotion]} You look {prediction.emotion} "
                 f"({prediction.confidence:.0%} sure)."]
        if len(result.faces) > 1:
            others = ", ".join(f.prediction.emotion for f in result.faces[1:])
            lines.append(f"I found {len(result.faces)} faces and used the largest one (the others look: {others}).")
        lines.append(f"Mood: {result.mood} · {STRATEGY_LABEL[strategy]}")
        lines += ["", format_tracks(result.tracks)]
        if event_id is None:
            lines += ["", NOT_SAVED]
        return Answer("tracks", "\n".join(lines), title=lines[0], event_id=event_id, tracks=result.tracks,
                      strategy=strategy,
                      extra={"emotion": prediction.emotion, "confidence": prediction.confidence,
                             "mood": result.mood, "faces": len(result.faces)})

    # --- moods ---------------------------------------------------------------------------------------------
    def handle_mood(self, platform: str, user: str, mood: str | None) -> Answer:
        """``/mood`` with no argument offers the keyboard; with one, answers at once."""
        if not mood or not mood.strip():
            return Answer("info", "Which mood would you like music for?", offer_moods=True)
        user_id = self._user(platform, user)
        disliked, liked = self._taste(user_id)
        try:
            recommendation = self.pipeline.recommend_mood(mood, exclude=disliked, liked_ids=liked,
                                                          recent=self._recent(user_id))
        except UnknownMood:
            return Answer("info", f"I don't know the mood “{mood.strip()[:40]}”. Pick one of: {', '.join(MOODS)}.",
                          offer_moods=True)
        strategy = self._strategy(user_id)
        event_id = self.store.record_event(
            user_id, source="mood", emotion=None, probabilities=None, mood=recommendation.mood, strategy=strategy,
            model_version=self.pipeline.model_version, faces=0, track_ids=[t.id for t in recommendation.tracks])
        text = f"Mood: {recommendation.mood}\n\n{format_tracks(recommendation.tracks)}"
        return Answer("tracks", text, title=f"Mood: {recommendation.mood}", event_id=event_id,
                      tracks=recommendation.tracks, strategy=None,
                      extra={"mood": recommendation.mood})

    # --- buttons -------------------------------------------------------------------------------------------
    def handle_more(self, platform: str, user: str, event_id: int, strategy: str | None = None) -> Answer:
        """Five new tracks for an earlier answer; with ``strategy``, switch it (photo answers only)."""
        event = self.store.get_event(event_id)
        if event is None:
            return Answer("info", messages.STALE_BUTTON, offer_moods=True)
        user_id = self._user(platform, user)
        if event.user_id != user_id:
            # In a group anyone sees the buttons; only the asker may page through their own answer.
            return Answer("info", NOT_YOURS)
        disliked, liked = self._taste(user_id)
        recent = self._recent(user_id)
        shown = frozenset(event.track_ids)
        strategy = strategy if (strategy in STRATEGIES and event.probabilities) else event.strategy

        def pick(exclude: frozenset[str]):
            if event.probabilities:
                target, rec = self.pipeline.recommend_probabilities(event.probabilities, strategy, exclude=exclude,
                                                                    liked_ids=liked, recent=recent)
                return rec
            return self.pipeline.recommend_mood(event.mood, exclude=exclude, liked_ids=liked, recent=recent)

        recommendation = pick(shown | disliked)
        note = ""
        if not recommendation.tracks:
            # Every track of this mood has been shown: start the round again (still never a disliked one).
            recommendation = pick(disliked)
            note = f"That's every {recommendation.mood} track I have — starting over.\n"
        self.store.extend_event(event_id, [t.id for t in recommendation.tracks])
        if strategy != event.strategy:
            header = f"{STRATEGY_LABEL[strategy]}: {recommendation.mood}"
        else:
            header = f"More {recommendation.mood}"
        text = f"{note}{header}\n\n{format_tracks(recommendation.tracks)}"
        return Answer("tracks", text, title=header, event_id=event_id, tracks=recommendation.tracks,
                      strategy=strategy if event.probabilities else None, extra={"mood": recommendation.mood})

    def handle_vote(self, platform: str, user: str, event_id: int, track_id: str, value: int) -> str:
        """Store a 👍/👎 (a second press changes the vote); returns a short toast."""
        if self.store.get_event(event_id) is None or self.pipeline.recommender.track(track_id) is None:
            return messages.STALE_BUTTON
        try:
            self.store.vote(event_id, self._user(platform, user), track_id, value)
        except SQLAlchemyError as exc:
            log.error("vote not stored (event %s, track %s, %+d): %s", event_id, track_id, value, exc)
            return VOTE_NOT_SAVED
        track = self.pipeline.recommender.track(track_id)
        if value > 0:
            return f"👍 Noted — more like “{track.name}”."
        return f"👎 Noted — I won't play “{track.name}” for you again."

    # --- settings and data ---------------------------------------------------------------------------------
    def settings_prompt(self, platform: str, user: str) -> Answer:
        current = self._strategy(self._user(platform, user))
        return Answer("info", f"Right now I pick: {STRATEGY_LABEL[current]}. Choose:", offer_strategies=True)

    def set_strategy(self, platform: str, user: str, strategy: str) -> Answer:
        if strategy not in STRATEGIES:
            return Answer("info", f"Choose one of: {', '.join(STRATEGIES)}.", offer_strategies=True)
        self.store.set_user_setting(self._user(platform, user), "strategy", strategy)
        return Answer("info", f"Done — from now on: {STRATEGY_LABEL[strategy]}.")

    def history(self, platform: str, user: str, limit: int = 10) -> Answer:
        """The last moods as text, and a chart (PNG) of moods over time and the like-rate."""
        user_id = self._user(platform, user)
        events = self.store.history(user_id, max(limit, HISTORY_CHART_EVENTS))
        if not events:
            return Answer("info", "No history yet — send me a selfie!")
        lines = ["Your last moods:"]
        for e in events[:limit]:
            how = f"you looked {e.emotion}" if e.emotion else "picked by hand"
            lines.append(f"{e.created_at:%Y-%m-%d %H:%M} — {e.mood} ({how})")
        chart = history_chart.render(events, self.store.votes_by_event(user_id))
        return Answer("info", "\n".join(lines), image=chart)

    def my_data(self, platform: str, user: str) -> Answer:
        data = self.store.export_user(platform, str(user))
        return Answer("info", "Everything I store about you (your id is kept only as a salted hash):\n"
                      + json.dumps(data, indent=1, default=str, ensure_ascii=False), extra={"data": data})

    def forget_prompt(self) -> Answer:
        return Answer("confirm_forget", "Delete everything I store about you — history, votes and settings? "
                      "This cannot be undone.")

    def forget_me(self, platform: str, user: str, confirmed: bool) -> Answer:
        if not confirmed:
            return Answer("info", "Okay, I kept everything.")
        removed = self.store.forget_user(platform, str(user))
        return Answer("info", f"Done — I deleted everything about you ({removed} records).")

    def help(self) -> Answer:
        return Answer("info", HELP)

