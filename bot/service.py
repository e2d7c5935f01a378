"""What the bot says and remembers, for every chat front end: one conversation service over the core
pipeline and the store. Adapters only translate their platform's events into these calls and render the
returned Answer (text + which buttons, see bot.layout). Calls are synchronous: adapters run them in a worker
thread. Storage failures arrive as the store's own errors (db.errors) and degrade every command the same way:
songs without personalisation where songs are asked for, a sentence saying memory is unavailable otherwise."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import partial, wraps
from typing import TYPE_CHECKING, Any

from moodtunes.bot import history_chart, metrics
from moodtunes.bot.callbacks import Callback, ForgetMe, More, PickMood, SetDefaultStrategy, SwitchStrategy, Vote
from moodtunes.bot.flood import FloodGuard, FloodLimit
from moodtunes.core import messages
from moodtunes.core.errors import ImageRejected, ImageTooLarge, NotAnImage, UnknownMood
from moodtunes.core.mood import STRATEGIES, Strategy
from moodtunes.core.pipeline import FaceResult, Pipeline
from moodtunes.core.recommender import Recommendation, Track
from moodtunes.db.errors import NotFound, StorageUnavailable
from moodtunes.db.records import EventRecord
from moodtunes.db.store import Store
from moodtunes.worker.errors import PhotoJobFailed, WorkersUnavailable

if TYPE_CHECKING:
    from moodtunes.worker.client import PhotoJobs

log = logging.getLogger("moodtunes.bot")

HELP = (
    "Send me a selfie and I'll guess how you feel and pick five songs for it.\n"
    "/mood — pick a mood yourself (Happy, Sad, Energetic, Calm), e.g. /mood sad\n"
    "/settings — choose: music that matches your mood, or music that lifts it\n"
    "/history — your last moods\n"
    "/mydata — everything I store about you\n"
    "/forgetme — delete all of it"
)
BUTTON_VOTES_HELP = "Press 👍 or 👎 on a song: I'll remember, and never play you a song you disliked again."
STRATEGY_LABEL = {Strategy.MATCH: "Match my mood", Strategy.UPLIFT: "Lift me up"}
NOT_SAVED = "(I couldn't save this answer just now, so I can't show more or take votes for it — the songs are " \
            "still yours.)"
NOT_YOURS = "That answer belongs to someone else — send your own selfie and I'll pick songs for you!"
VOTE_NOT_SAVED = "I couldn't save your vote just now — please vote again in a moment."
MEMORY_UNAVAILABLE = "I can't reach my memory just now, so I can't do that — please try again in a moment. " \
                     "Photos and /mood still get songs."
HISTORY_CHART_EVENTS = 200  # answers the /history chart covers
SWITCH_NEEDS_PHOTO = "Lift me up and Match my mood work on answers to a selfie — send me one!"


class AnswerKind(StrEnum):
    TRACKS = "tracks"  # songs, with votes, More and (for a selfie) the other strategy
    NO_FACE = "no_face"
    REJECTED = "rejected"  # the file is not a usable photo
    INFO = "info"  # a sentence, maybe with mood or strategy choices
    CONFIRM_FORGET = "confirm_forget"  # asks yes/no before deleting the user's data
    TOAST = "toast"  # a short note on a button press (a vote, a stale button): no message of its own


@dataclass(frozen=True)
class Answer:
    """A reply, platform-neutral: what to say and which choices to offer (bot.layout turns those into buttons)."""

    kind: AnswerKind
    text: str
    title: str | None = None  # the headline (emotion or mood line) for adapters that show one
    event_id: int | None = None  # the stored answer its buttons refer to; None when it could not be stored
    tracks: tuple[Track, ...] = ()
    strategy: str | None = None  # set on answers to a selfie, which can switch to the other strategy
    offer_moods: bool = False
    offer_strategies: bool = False
    replaces_prompt: bool = False  # the result of a one-shot prompt (settings, forget-me): shown in its place
    image: bytes | None = None  # a PNG to send with the text (the /history chart)

    @property
    def other_strategy(self) -> str | None:
        if self.strategy is None or self.event_id is None:
            return None
        return next(s for s in STRATEGIES if s != self.strategy)


def format_tracks(tracks: tuple[Track, ...], first_number: int = 1) -> str:
    return "\n".join(f"{n}. {t.artist} — {t.name}\n   {t.spotify_url}" for n, t in enumerate(tracks, first_number))


def current_round(shown: tuple[str, ...]) -> frozenset[str]:
    """The tracks an answer showed since it last started over. A round never repeats a track and a new round
    begins with one the previous round showed, so the round restarts at each repeat."""
    this_round: set[str] = set()
    for track_id in shown:
        if track_id in this_round:
            this_round = set()
        this_round.add(track_id)
    return frozenset(this_round)


def needs_storage(method: Callable[..., Answer]) -> Callable[..., Answer]:
    """A command that cannot work without the database: if it is unavailable, one line for the admin and
    MEMORY_UNAVAILABLE for the user, the same on every front end."""

    @wraps(method)
    def guarded(self: ChatService, *args: Any, **kwargs: Any) -> Answer:
        try:
            return method(self, *args, **kwargs)
        except StorageUnavailable as exc:
            log.error("storage unavailable, %s not done: %s", method.__name__, exc)
            metrics.ERRORS.labels(where="storage").inc()
            return Answer(AnswerKind.INFO, MEMORY_UNAVAILABLE)

    return guarded


class ChatService:
    def __init__(self, pipeline: Pipeline, store: Store, *, photos_per_minute: int = 10,
                 flood: FloodLimit | None = None, jobs: PhotoJobs | None = None) -> None:
        """``flood``: the photo limit (bot.flood; e.g. shared through Redis); default: in-process,
        ``photos_per_minute``. ``jobs``: the inference workers (BROKER_URL); None: photos are analysed here."""
        self.pipeline = pipeline
        self.store = store
        self.flood = flood if flood is not None else FloodGuard(photos_per_minute)
        self.jobs = jobs
        # Photos get their own threads: inference (serialised by the model's lock anyway) must never occupy
        # the default pool that votes and commands use, or a 👍 would queue behind every waiting photo.
        self._photo_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="moodtunes-photo")

    # --- helpers -------------------------------------------------------------------------------------------
    def _strategy(self, user_id: int | None) -> str:
        try:
            settings = self.store.user_settings(user_id) if user_id is not None else {}
        except NotFound:  # forgotten (/forgetme) a moment ago
            settings = {}
        strategy = settings.get("strategy")
        return strategy if strategy in STRATEGIES else self.pipeline.settings.default_strategy

    def _taste(self, user_id: int) -> tuple[frozenset[str], tuple[str, ...]]:
        """Disliked ids (never again) and liked ids (pull the query point), newest likes first."""
        return frozenset(self.store.disliked_track_ids(user_id)), tuple(self.store.liked_track_ids(user_id)[:20])

    def _recent(self, user_id: int | None) -> tuple[str, ...]:
        """Tracks shown to the user lately, newest first: a new answer brings others (novelty)."""
        return tuple(self.store.recently_shown_track_ids(user_id)) if user_id is not None else ()

    def _personal(self, platform: str, user: str) -> tuple[int | None, str, frozenset[str], tuple[str, ...],
                                                           tuple[str, ...]]:
        """(user id, strategy, disliked, liked, recently shown); without the database: no user, the default
        strategy, no taste, no memory."""
        try:
            user_id = self.store.user_id(platform, str(user))
            return user_id, self._strategy(user_id), *self._taste(user_id), self._recent(user_id)
        except StorageUnavailable as exc:
            log.error("storage unavailable, answering a %s request without history: %s", platform, exc)
            metrics.ERRORS.labels(where="storage").inc()
            return None, self.pipeline.settings.default_strategy, frozenset(), (), ()

    def _record(self, user_id: int | None, **event: Any) -> int | None:
        """Store an answer; None (the answer goes out without buttons) if the database is unavailable."""
        if user_id is None:
            return None
        event.setdefault("model_version", self.pipeline.model_version)
        try:
            return self.store.record_event(user_id, **event)
        except (StorageUnavailable, NotFound) as exc:
            log.error("storage unavailable, %s answer not stored: %s", event.get("source"), exc)
            metrics.ERRORS.labels(where="storage").inc()
            return None

    @staticmethod
    def _tracks_answer(headline: str, recommendation: Recommendation, event_id: int | None, *,
                       lead: tuple[str, ...] = (), title: str | None = None, strategy: str | None = None) -> Answer:
        """Lead lines, the headline, the numbered tracks (and NOT_SAVED when the answer could not be stored)."""
        lines = [*lead, headline, "", format_tracks(recommendation.tracks)]
        if event_id is None:
            lines += ["", NOT_SAVED]
        return Answer(AnswerKind.TRACKS, "\n".join(lines), title=title or headline, event_id=event_id,
                      tracks=recommendation.tracks, strategy=strategy)

    @staticmethod
    def _all_disliked(mood: str, lead: tuple[str, ...] = ()) -> Answer:
        """Every track of the mood was turned down: say so, and offer the other moods."""
        text = f"You've turned down every {mood} track I have, so I won't play them again. Pick another mood?"
        return Answer(AnswerKind.INFO, "\n".join([*lead, text]), offer_moods=True)

    # --- delivery ------------------------------------------------------------------------------------------
    def first_delivery(self, platform: str, update_id: int, *, bot_id: int | None = None) -> bool:
        """False when this update was already taken on (a redelivery, or another replica got it too): drop it.
        ``bot_id``: update ids count per bot (Telegram). Without the database it cannot be told, so the update
        is handled (one log line)."""
        try:
            first = self.store.claim_update(platform if bot_id is None else f"{platform}:{bot_id}", update_id)
        except StorageUnavailable as exc:
            log.error("storage unavailable, update %s handled without the duplicate check: %s", update_id, exc)
            metrics.ERRORS.labels(where="storage").inc()
            return True
        if not first:
            log.info("%s update %s already taken on: dropped", platform, update_id)
            metrics.DUPLICATE_UPDATES.labels(platform=platform).inc()
        return first

    # --- photos --------------------------------------------------------------------------------------------
    def refuse_file(self, size: int | None, content_type: str | None) -> Answer | None:
        """The refusal for a file judged by what its platform announces (bytes, MIME type); None if it may be
        a photo. Adapters call it before downloading anything."""
        if size is not None and size > self.pipeline.settings.max_image_bytes:
            return self.reject_photo(ImageTooLarge(f"{size} bytes"))
        if content_type and not content_type.lower().startswith("image/"):
            return self.reject_photo(NotAnImage(content_type))
        return None

    def admit_photo(self, platform: str, user: str, *, size: int | None = None,
                    content_type: str | None = None) -> Answer | None:
        """Before a download: the file checks, then the flood check. None if the photo may come in."""
        if (refusal := self.refuse_file(size, content_type)) is not None:
            return refusal
        if self.flood.allow(platform, str(user)):
            return None
        return Answer(AnswerKind.INFO, messages.TOO_MANY_PHOTOS)

    @staticmethod
    def reject_photo(error: ImageRejected) -> Answer:
        """The answer for a file that is not a usable photo."""
        log.info("photo refused (%s): %s", type(error).__name__, error)
        return Answer(AnswerKind.REJECTED, messages.friendly_rejection(error), offer_moods=True)

    async def handle_photo_async(self, platform: str, user: str, data: bytes, *, admitted: bool = False) -> Answer:
        """handle_photo for adapters running an event loop. With inference workers (BROKER_URL) the photo is
        analysed by a worker while the loop goes on; without, everything runs on the photo threads."""
        if self.jobs is None:
            call = partial(self.handle_photo, platform, user, data, admitted=admitted)
            return await asyncio.get_running_loop().run_in_executor(self._photo_pool, call)
        if not admitted and (refusal := self.admit_photo(platform, user)) is not None:
            return refusal
        started = time.perf_counter()
        try:
            return await self._answer_remote_photo(platform, user, data)
        finally:
            metrics.PHOTO_SECONDS.labels(platform=platform).observe(time.perf_counter() - started)

    async def _answer_remote_photo(self, platform: str, user: str, data: bytes) -> Answer:
        if len(data) > self.pipeline.settings.max_image_bytes:  # never sent to the broker
            return self.reject_photo(ImageTooLarge(f"{len(data)} bytes"))
        try:
            analysis = await self.jobs.analyze(data)
        except ImageRejected as exc:
            return self.reject_photo(exc)
        except WorkersUnavailable:  # the jobs client logged why
            metrics.ERRORS.labels(where="workers_unavailable").inc()
            return Answer(AnswerKind.INFO, messages.BUSY)
        except PhotoJobFailed:
            metrics.ERRORS.labels(where="photo_job_failed").inc()
            return Answer(AnswerKind.REJECTED, messages.PHOTO_FAILED, offer_moods=True)
        call = partial(self.answer_photo, platform, user, analysis.faces, analysis.model_version)
        return await asyncio.get_running_loop().run_in_executor(self._photo_pool, call)

    def handle_photo(self, platform: str, user: str, data: bytes, *, admitted: bool = False) -> Answer:
        """Photo bytes -> an answer, analysed in this process. ``admitted``: the adapter already ran admit_photo."""
        if not admitted and (refusal := self.admit_photo(platform, user)) is not None:
            return refusal
        started = time.perf_counter()
        try:
            timings: dict[str, float] = {}
            try:
                faces = self.pipeline.analyze(data, timings)
            except ImageRejected as exc:
                return self.reject_photo(exc)
            return self.answer_photo(platform, user, faces, self.pipeline.model_version, timings)
        finally:
            metrics.PHOTO_SECONDS.labels(platform=platform).observe(time.perf_counter() - started)

    def answer_photo(self, platform: str, user: str, faces: tuple[FaceResult, ...], model_version: str,
                     timings: dict[str, float] | None = None) -> Answer:
        """The answer to an analysed photo (here or by a worker): the user's tracks for its faces, stored.
        ``timings``: the stages measured so far (milliseconds), recorded with the recommendation's."""
        timings = {} if timings is None else timings
        if not faces:
            metrics.observe_stages(timings)
            return Answer(AnswerKind.NO_FACE, messages.NO_FACE, offer_moods=True)
        user_id, strategy, disliked, liked, recent = self._personal(platform, user)
        result = self.pipeline.recommend_faces(faces, strategy, exclude=disliked, liked_ids=liked, recent=recent,
                                               timings=timings)
        metrics.observe_stages(result.timings_ms)
        prediction, group = result.primary.prediction, result.group
        if len(result.faces) == 1:
            lead = [f"{messages.EMOJI[prediction.emotion]} You look {prediction.emotion} "
                    f"({prediction.confidence:.0%} sure)."]
        else:
            lead = [f"{messages.EMOJI[group.emotion]} {len(result.faces)} faces: {group.summary} → {result.mood}",
                    "Largest first: " + ", ".join(f"{f.prediction.emotion} ({f.prediction.confidence:.0%})"
                                                  for f in result.faces) + "."]
            left_out = len(result.faces) - group.faces_used
            if left_out:
                lead[-1] += (" 1 small face in the background doesn't count." if left_out == 1 else
                             f" {left_out} small faces in the background don't count.")
        if not result.tracks:
            return self._all_disliked(result.mood, tuple(lead))
        # The group's vector (one face: that face's) is what "More" and strategy switches go on from.
        event_id = self._record(user_id, source="photo", emotion=group.emotion, model_version=model_version,
                                probabilities=group.as_dict(), mood=result.mood, strategy=strategy,
                                faces=len(result.faces), track_ids=[t.id for t in result.tracks])
        recommendation = Recommendation(result.mood, result.tracks, result.exhausted)
        return self._tracks_answer(f"Mood: {result.mood} · {STRATEGY_LABEL[strategy]}", recommendation, event_id,
                                   lead=tuple(lead), title=lead[0], strategy=strategy)

    # --- moods ---------------------------------------------------------------------------------------------
    def handle_mood(self, platform: str, user: str, mood: str | None) -> Answer:
        """``/mood`` with no argument offers the moods; with one, answers at once."""
        if not mood or not mood.strip():
            return Answer(AnswerKind.INFO, "Which mood would you like music for?", offer_moods=True)
        user_id, strategy, disliked, liked, recent = self._personal(platform, user)
        try:
            recommendation = self.pipeline.recommend_mood(mood, exclude=disliked, liked_ids=liked, recent=recent)
        except UnknownMood:
            return Answer(AnswerKind.INFO, f"I don't know the mood “{mood.strip()[:40]}”.", offer_moods=True)
        if not recommendation.tracks:
            return self._all_disliked(recommendation.mood)
        event_id = self._record(user_id, source="mood", emotion=None, probabilities=None, mood=recommendation.mood,
                                strategy=strategy, faces=0, track_ids=[t.id for t in recommendation.tracks])
        return self._tracks_answer(f"Mood: {recommendation.mood}", recommendation, event_id)

    # --- buttons -------------------------------------------------------------------------------------------
    def press(self, platform: str, user: str, payload: Callback) -> Answer:
        """A pressed button, on any front end: votes and unusable payloads get a TOAST, the rest an answer."""
        match payload:
            case Vote(event_id, track_id, value):
                return self.handle_vote(platform, user, event_id, track_id, value)
            case More(event_id):
                return self.handle_more(platform, user, event_id)
            case SwitchStrategy(event_id, strategy):
                return self.handle_more(platform, user, event_id, strategy)
            case PickMood(mood):
                return self.handle_mood(platform, user, mood)
            case SetDefaultStrategy(strategy):
                return replace(self.set_strategy(platform, user, strategy), replaces_prompt=True)
            case ForgetMe(confirmed):
                return replace(self.forget_me(platform, user, confirmed), replaces_prompt=True)
        log.info("stale or unknown button pressed on %s", platform)
        return Answer(AnswerKind.TOAST, messages.STALE_BUTTON)

    @needs_storage
    def handle_more(self, platform: str, user: str, event_id: int, strategy: str | None = None) -> Answer:
        """The next five tracks of an earlier answer; with another ``strategy``, that strategy's answer to the
        same selfie (a new answer of its own, so its votes count for the strategy they were cast under)."""
        event = self.store.get_event(event_id)
        if event is None:
            return Answer(AnswerKind.INFO, messages.STALE_BUTTON, offer_moods=True)
        user_id = self.store.find_user_id(platform, str(user))
        if event.user_id != user_id:
            # In a group anyone sees the buttons; only the asker may page through their own answer.
            return Answer(AnswerKind.INFO, NOT_YOURS)
        if strategy is not None and not event.probabilities:
            return Answer(AnswerKind.INFO, SWITCH_NEEDS_PHOTO)  # a mood picked by hand has no other strategy
        if strategy is None or strategy == event.strategy:
            return self._next_page(event, user_id)
        return self._switch(event, user_id, strategy)

    def _recommend(self, event: EventRecord, strategy: str, exclude: frozenset[str], liked: tuple[str, ...],
                   recent: tuple[str, ...]) -> Recommendation:
        if event.probabilities:
            return self.pipeline.recommend_probabilities(event.probabilities, strategy, exclude=exclude,
                                                         liked_ids=liked, recent=recent)[1]
        return self.pipeline.recommend_mood(event.mood, exclude=exclude, liked_ids=liked, recent=recent)

    def _next_page(self, event: EventRecord, user_id: int) -> Answer:
        disliked, liked = self._taste(user_id)
        recent = self._recent(user_id)

        def pick(stored: EventRecord) -> tuple[list[str], tuple[Recommendation, bool]]:
            # Runs inside the store's transaction, on the event as stored now: two presses never share a page.
            page = self._recommend(stored, stored.strategy, current_round(stored.track_ids) | disliked, liked, recent)
            started_over = not page.tracks
            if started_over:  # every track of the mood was shown: a new round (still never a disliked one)
                page = self._recommend(stored, stored.strategy, disliked, liked, recent)
            return [t.id for t in page.tracks], (page, started_over)

        try:
            page, started_over = self.store.page_event(event.id, pick)
        except NotFound:  # deleted (/forgetme) since it was read
            return Answer(AnswerKind.INFO, messages.STALE_BUTTON, offer_moods=True)
        if not page.tracks:
            return self._all_disliked(page.mood)
        lead = (f"That's every {page.mood} track I have — starting over.",) if started_over else ()
        strategy = event.strategy if event.probabilities else None
        return self._tracks_answer(f"More {page.mood}", page, event.id, lead=lead, strategy=strategy)

    def _switch(self, event: EventRecord, user_id: int, strategy: str) -> Answer:
        disliked, liked = self._taste(user_id)
        recent = self._recent(user_id)
        page = self._recommend(event, strategy, frozenset(event.track_ids) | disliked, liked, recent)
        if not page.tracks:  # the other strategy's mood was all shown already: start it from the top
            page = self._recommend(event, strategy, disliked, liked, recent)
        if not page.tracks:
            return self._all_disliked(page.mood)
        event_id = self._record(user_id, source=event.source, emotion=event.emotion, probabilities=event.probabilities,
                                mood=page.mood, strategy=strategy, faces=event.faces,
                                model_version=event.model_version, track_ids=[t.id for t in page.tracks])
        return self._tracks_answer(f"{STRATEGY_LABEL[strategy]}: {page.mood}", page, event_id, strategy=strategy)

    def handle_vote(self, platform: str, user: str, event_id: int, track_id: str, value: int) -> Answer:
        """Store a 👍/👎 on a track the answer showed (a second press changes the vote); a TOAST says so.
        Anyone who sees an answer (e.g. in a group) may vote on its tracks."""
        stale = Answer(AnswerKind.TOAST, messages.STALE_BUTTON)
        try:
            event = self.store.get_event(event_id)
            if event is None or track_id not in event.track_ids:
                return stale
            self.store.vote(event_id, self.store.user_id(platform, str(user)), track_id, value)
        except NotFound:
            return stale
        except StorageUnavailable as exc:
            log.error("storage unavailable, vote not stored (event %s, track %s, %+d): %s", event_id, track_id, value,
                      exc)
            metrics.ERRORS.labels(where="storage").inc()
            return Answer(AnswerKind.TOAST, VOTE_NOT_SAVED)
        track = self.pipeline.recommender.track(track_id)
        name = track.name if track is not None else "that song"
        if value > 0:
            return Answer(AnswerKind.TOAST, f"👍 Noted — more like “{name}”.")
        return Answer(AnswerKind.TOAST, f"👎 Noted — I won't play “{name}” for you again.")

    # --- settings and data ---------------------------------------------------------------------------------
    @needs_storage
    def settings_prompt(self, platform: str, user: str) -> Answer:
        current = self._strategy(self.store.find_user_id(platform, str(user)))
        return Answer(AnswerKind.INFO, f"Right now I pick: {STRATEGY_LABEL[current]}. Choose:",
                      offer_strategies=True)

    @needs_storage
    def set_strategy(self, platform: str, user: str, strategy: str) -> Answer:
        if strategy not in STRATEGIES:
            return Answer(AnswerKind.INFO, f"Choose one of: {', '.join(STRATEGIES)}.", offer_strategies=True)
        self.store.set_user_setting(self.store.user_id(platform, str(user)), "strategy", strategy)
        return Answer(AnswerKind.INFO, f"Done — from now on: {STRATEGY_LABEL[strategy]}.")

    @needs_storage
    def history(self, platform: str, user: str, limit: int = 10) -> Answer:
        user_id = self.store.find_user_id(platform, str(user))  # looking must not create the user again
        events = self.store.history(user_id, max(limit, HISTORY_CHART_EVENTS)) if user_id is not None else []
        if not events:
            return Answer(AnswerKind.INFO, "No history yet — send me a selfie!")
        lines = ["Your last moods:"]
        for e in events[:limit]:
            how = f"you looked {e.emotion}" if e.emotion else "picked by hand"
            lines.append(f"{e.created_at:%Y-%m-%d %H:%M} — {e.mood} ({how})")
        chart = history_chart.render(events, self.store.votes_by_event(user_id))
        return Answer(AnswerKind.INFO, "\n".join(lines), image=chart)

    @needs_storage
    def my_data(self, platform: str, user: str) -> Answer:
        data = self.store.export_user(platform, str(user))
        return Answer(AnswerKind.INFO, "Everything I store about you (your id is kept only as a salted hash):\n"
                      + json.dumps(data, indent=1, default=str, ensure_ascii=False))

    def forget_prompt(self) -> Answer:
        return Answer(AnswerKind.CONFIRM_FORGET, "Delete everything I store about you — history, votes and "
                      "settings? This cannot be undone.")

    @needs_storage
    def forget_me(self, platform: str, user: str, confirmed: bool) -> Answer:
        if not confirmed:
            return Answer(AnswerKind.INFO, "Okay, I kept everything.")
        removed = self.store.forget_user(platform, str(user))
        return Answer(AnswerKind.INFO, f"Done — I deleted everything about you ({removed} records).")

    def help(self, *, buttons: bool = True) -> Answer:
        """The help text; ``buttons``: the front end votes with 👍/👎 buttons (the console has its own words)."""
        return Answer(AnswerKind.INFO, f"{HELP}\n{BUTTON_VOTES_HELP}" if buttons else HELP)
