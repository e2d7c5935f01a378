"""The one MoodTunes pipeline every front end calls: photo bytes -> faces -> emotion -> mood -> tracks."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from moodtunes.core.catalog_build import served_catalog
from moodtunes.core.emotion import EmotionModel, EmotionPrediction
from moodtunes.core.errors import MoodTunesError, UnknownMood
from moodtunes.core.faces import FaceDetector
from moodtunes.core.group import GroupEmotion, group_emotion
from moodtunes.core.intake import ORIGINAL_SIZE, decode_photo
from moodtunes.core.mood import STRATEGIES, MoodMap, MoodTarget, canonical_mood
from moodtunes.core.native_logs import native_stderr_silenced
from moodtunes.core.recommender import Recommendation, Recommender, Track
from moodtunes.core.settings import Settings


@dataclass(frozen=True)
class FaceResult:
    box: tuple[int, int, int, int]
    prediction: EmotionPrediction


@dataclass(frozen=True)
class PhotoResult:
    """What a photo gave: every face (largest first), the group's combined emotion (one face: that face's), the
    mood chosen from it, and the tracks."""

    faces: tuple[FaceResult, ...]
    strategy: str
    target: MoodTarget | None
    tracks: tuple[Track, ...]
    exhausted: bool = False
    timings_ms: dict[str, float] = field(default_factory=dict)
    group: GroupEmotion | None = None

    @property
    def primary(self) -> FaceResult | None:
        return self.faces[0] if self.faces else None

    @property
    def emotion(self) -> str | None:
        return self.primary.prediction.emotion if self.primary else None

    @property
    def mood(self) -> str | None:
        return self.target.mood if self.target else None

    def as_json(self) -> dict:
        """The `moodtunes recommend --json` contract."""
        primary = self.primary
        return {
            "faces": len(self.faces),
            "emotion": primary.prediction.emotion if primary else None,
            "confidence": round(primary.prediction.confidence, 4) if primary else None,
            "probabilities": primary.prediction.as_dict() if primary else None,
            "mood": self.mood,
            "strategy": self.strategy,
            "tracks": [t.as_dict() for t in self.tracks],
            "group": {"mood": self.mood, "emotion": self.group.emotion, "faces_used": self.group.faces_used}
            if self.group else None,
            "all_faces": [
                {"box": list(f.box), "emotion": f.prediction.emotion, "confidence": round(f.prediction.confidence, 4)}
                for f in self.faces
            ],
        }


class PhotoAnalyzer:
    """The expensive half of a photo: bytes -> faces with their emotions. All an inference worker loads."""

    def __init__(self, *, detector: FaceDetector, model: EmotionModel, settings: Settings) -> None:
        self.detector = detector
        self.model = model
        self.settings = settings

    @classmethod
    def from_settings(cls, settings: Settings) -> PhotoAnalyzer:
        """Build the detector and the model; a missing or invalid model raises a precise error naming MODEL_DIR."""
        # TensorFlow, LiteRT and absl print their start-up lines straight to the terminal while loading.
        with native_stderr_silenced(unless=settings.log_level == "DEBUG"):
            try:
                model = EmotionModel(settings.model_dir, threads=settings.inference_threads)
            except MoodTunesError as exc:
                exc.for_setting("MODEL_DIR")
                raise
            detector = FaceDetector(max_side=settings.detect_max_side, min_face_size=settings.min_face_size,
                                    crop_size=model.input_size)
        return cls(detector=detector, model=model, settings=settings)

    @property
    def model_version(self) -> str:
        return self.model.version

    def warm_up(self, *, background: bool = True) -> None:
        """Run every stage once so the first user does not pay for graph tracing and allocation. MTCNN, which only
        photos other than selfies need, gets ready in the background unless ``background`` is off (measurements)."""
        self.detector.warm_up(background=background)
        self.model.predict_proba(np.zeros((1, self.model.input_size, self.model.input_size), np.uint8))

    def analyze(self, data: bytes, timings: dict[str, float] | None = None) -> tuple[FaceResult, ...]:
        """Faces with their emotions, largest first. Raises ImageRejected for unusable bytes."""
        timings = {} if timings is None else timings
        started = time.perf_counter()
        image = decode_photo(data, self.settings)
        timings["decode"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        crops = self.detector.detect(image)
        # Boxes in the photo's own coordinates, even when the JPEG was decoded at a reduced scale.
        scale = image.info.get(ORIGINAL_SIZE, image.size)[0] / image.width
        if scale != 1:
            crops = [replace(c, box=tuple(round(v * scale) for v in c.box)) for c in crops]
        timings["detect_align"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        predictions = self.model.predict(np.stack([c.pixels for c in crops])) if crops else []
        timings["classify"] = (time.perf_counter() - started) * 1000
        return tuple(FaceResult(c.box, p) for c, p in zip(crops, predictions, strict=True))


class Pipeline:
    """Holds the heavy objects (detector, model, KNN index), built once and passed in."""

    def __init__(self, *, detector: FaceDetector, model: EmotionModel, mood_map: MoodMap, recommender: Recommender,
                 settings: Settings) -> None:
        self.analyzer = PhotoAnalyzer(detector=detector, model=model, settings=settings)
        self.detector = detector
        self.model = model
        self.mood_map = mood_map
        self.recommender = recommender
        self.settings = settings

    @classmethod
    def from_settings(cls, settings: Settings) -> Pipeline:
        """Build every part; a missing or invalid model, catalog or mood table raises a precise error."""
        recommender = Recommender(served_catalog(settings))
        try:
            mood_map = MoodMap.load(settings.mood_map_path)
        except MoodTunesError as exc:
            exc.for_setting("MOOD_MAP_PATH")
            raise
        analyzer = PhotoAnalyzer.from_settings(settings)
        return cls(detector=analyzer.detector, model=analyzer.model, mood_map=mood_map, recommender=recommender,
                   settings=settings)

    @property
    def model_version(self) -> str:
        return self.model.version

    def warm_up(self, *, background: bool = True) -> None:
        """PhotoAnalyzer.warm_up."""
        self.analyzer.warm_up(background=background)

    def analyze(self, data: bytes, timings: dict[str, float] | None = None) -> tuple[FaceResult, ...]:
        """Faces with their emotions, largest first (PhotoAnalyzer.analyze). Raises ImageRejected."""
        return self.analyzer.analyze(data, timings)

    def recommend_photo(self, data: bytes, strategy: str | None = None, *, exclude: frozenset[str] = frozenset(),
                        liked_ids: tuple[str, ...] = (), recent: tuple[str, ...] = ()) -> PhotoResult:
        timings: dict[str, float] = {}
        faces = self.analyze(data, timings)
        return self.recommend_faces(faces, strategy, exclude=exclude, liked_ids=liked_ids, recent=recent,
                                    timings=timings)

    def recommend_faces(self, faces: tuple[FaceResult, ...], strategy: str | None = None, *,
                        exclude: frozenset[str] = frozenset(), liked_ids: tuple[str, ...] = (),
                        recent: tuple[str, ...] = (), timings: dict[str, float] | None = None) -> PhotoResult:
        """The cheap half of a photo: analysed faces (here or by a worker) -> group emotion, mood and tracks."""
        strategy = self._strategy(strategy)
        timings = {} if timings is None else timings
        if not faces:
            return PhotoResult(faces=(), strategy=strategy, target=None, tracks=(), timings_ms=timings)
        started = time.perf_counter()
        group = group_emotion([f.box[2] * f.box[3] for f in faces], [f.prediction.probabilities for f in faces])
        target, recommendation = self.recommend_probabilities(
            group.probabilities, strategy, exclude=exclude, liked_ids=liked_ids, recent=recent)
        timings["recommend"] = (time.perf_counter() - started) * 1000
        return PhotoResult(faces=faces, strategy=strategy, target=target, tracks=recommendation.tracks,
                           exhausted=recommendation.exhausted, timings_ms=timings, group=group)

    def recommend_probabilities(self, probabilities, strategy: str | None = None, *,
                                exclude: frozenset[str] = frozenset(), liked_ids: tuple[str, ...] = (),
                                recent: tuple[str, ...] = ()) -> tuple[MoodTarget, Recommendation]:
        """Tracks for a stored probability vector (used for "More" and strategy switches, photo long gone)."""
        target = self.mood_map.target(probabilities, self._strategy(strategy))
        return target, self.recommender.recommend(target.mood, target=target, k=self.settings.tracks_per_answer,
                                                  exclude=exclude, liked_ids=liked_ids, recent=recent)

    def recommend_mood(self, mood: str, *, exclude: frozenset[str] = frozenset(), liked_ids: tuple[str, ...] = (),
                       recent: tuple[str, ...] = ()) -> Recommendation:
        """Tracks for a mood picked by hand (``/mood sad``)."""
        canonical = canonical_mood(mood)
        if canonical is None or canonical not in self.recommender.moods:
            raise UnknownMood(f"unknown mood {mood!r}")
        return self.recommender.recommend(canonical, k=self.settings.tracks_per_answer, exclude=exclude,
                                          liked_ids=liked_ids, recent=recent)

    def _strategy(self, strategy: str | None) -> str:
        strategy = strategy or self.settings.default_strategy
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}")
        return strategy
