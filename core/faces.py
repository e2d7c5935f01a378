"""Face detection, eye alignment and crops framed like FER2013's faces.

Two detectors, one rule (measured in benchmarks/bench_faces.py, explained in docs/faces.md): BlazeFace's
short-range model looks at the whole photo first, scaled down to its 128-px input; one clear face that fills a
good part of it is a selfie or a portrait, and that is the answer. Anything else (no face, several, a small or
doubtful one) goes to MTCNN on the photo scaled down to ``max_side``, which finds the small and group faces
BlazeFace misses; BlazeFace's sure faces are kept too.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from moodtunes.core.blazeface import FACE_MODEL_DIR, LEFT_EYE, RIGHT_EYE, SHORT_RANGE, BlazeFace, box_iou

SELFIE_FACE = 0.15  # a lone BlazeFace face at least this fraction of the photo's longer side wide ...
SELFIE_SCORE = 0.85  # ... and at least this sure is taken without asking MTCNN
MTCNN_MIN_CONFIDENCE = 0.90


@dataclass(frozen=True)
class FaceFrame:
    """Where FER2013's 48 x 48 frame sits around a face, in units of the distance between the eyes: the
    square's side, and how far its centre lies below the eyes' midpoint (along the face's own vertical).
    Fitted per detector (their eye points differ) by benchmarks/bench_framing.py; see docs/faces.md."""

    side: float
    below_eyes: float


FRAMES = {"blazeface": FaceFrame(side=2.83, below_eyes=0.32), "mtcnn": FaceFrame(side=2.68, below_eyes=0.32)}


@dataclass(frozen=True)
class FaceCrop:
    """One detected face: its box in the original photo (x, y, width, height), and the classifier input."""

    box: tuple[int, int, int, int]
    confidence: float
    pixels: np.ndarray  # (size, size) uint8 greyscale, eyes level, histogram-equalised like FER2013's JPEGs

    @property
    def area(self) -> int:
        return self.box[2] * self.box[3]


@dataclass(frozen=True)
class Found:
    """A raw detection in some image's pixels: box (x1, y1, x2, y2), the eye on the image's left and the one on
    its right, score, and which detector found it."""

    box: np.ndarray
    eyes: tuple[np.ndarray, np.ndarray]
    score: float
    detector: str

    def scaled(self, factor: float) -> Found:
        return Found(self.box * factor, (self.eyes[0] * factor, self.eyes[1] * factor), self.score, self.detector)


def fer_frame(eyes: tuple[np.ndarray, np.ndarray], frame: FaceFrame) -> tuple[tuple[float, float], float, float]:
    """The FER-style square for a face: (centre, side, angle in radians that levels the eyes)."""
    dx, dy = eyes[1] - eyes[0]
    distance = max(math.hypot(dx, dy), 1e-6)
    angle = math.atan2(dy, dx)
    down = np.array([-math.sin(angle), math.cos(angle)])  # the face's own "down", perpendicular to the eye line
    centre = (eyes[0] + eyes[1]) / 2 + down * frame.below_eyes * distance
    return (float(centre[0]), float(centre[1])), frame.side * distance, angle


def aligned_crop(image: Image.Image, centre: tuple[float, float], side: float, angle: float, size: int) -> np.ndarray:
    """Cut a ``side``-pixel square around ``centre``, rotated by ``angle`` (radians) so the eyes are level,
    as ``size`` x ``size`` greyscale, histogram-equalised (FER2013's JPEGs have flat histograms)."""
    # Cut the region first and shrink it by a whole factor (a box filter): the rotation then samples at most
    # about 2 x size pixels a side, so it is cheap and does not alias however big the face is.
    reach = side * 0.75  # more than half the rotated square's diagonal (side * sqrt(2) / 2)
    left, top = round(centre[0] - reach), round(centre[1] - reach)
    region = image.crop((left, top, round(centre[0] + reach), round(centre[1] + reach))).convert("L")
    factor = max(1, int(side // (2 * size)))
    if factor > 1:
        region = region.reduce(factor)
    cx, cy = (centre[0] - left) / factor, (centre[1] - top) / factor
    n = max(size, int(round(side / factor)))
    step = side / factor / n
    cos, sin = math.cos(angle) * step, math.sin(angle) * step
    # Output pixel (u, v) samples centre + R(angle) @ ((u, v) - n/2) * step.
    coefficients = (cos, -sin, cx - (cos - sin) * n / 2, sin, cos, cy - (sin + cos) * n / 2)
    crop = region.transform((n, n), Image.Transform.AFFINE, coefficients, resample=Image.Resampling.BILINEAR)
    if n != size:
        crop = crop.resize((size, size), Image.Resampling.BOX)
    return np.asarray(ImageOps.equalize(crop), dtype=np.uint8)


def letterbox(image: Image.Image, side: int) -> Image.Image:
    """``image`` scaled so its longer side is ``side``, in the top-left corner of a black square."""
    scale = side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    square = Image.new("RGB", (side, side))
    square.paste(image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0), (0, 0))
    return square


class BlazeFaceFinder:
    """BlazeFace short range over the whole image (any size: it is letterboxed to the model's 128 px)."""

    def __init__(self, model_dir: Path = FACE_MODEL_DIR) -> None:
        self._model = BlazeFace(SHORT_RANGE, model_dir)

    def find(self, image: Image.Image) -> list[Found]:
        found = self._model.detect(letterbox(image, SHORT_RANGE.input_size))
        unit = max(image.size)  # fractions of the longer side -> pixels
        return [Found(box * unit, (points[RIGHT_EYE] * unit, points[LEFT_EYE] * unit), float(score), "blazeface")
                for box, points, score in zip(found.boxes, found.keypoints, found.scores, strict=True)]


class MtcnnFinder:
    """MTCNN (weights inside the mtcnn wheel), its three Keras nets compiled once."""

    def __init__(self, min_face_size: int) -> None:
        import tensorflow as tf
        from mtcnn import MTCNN

        self._mtcnn = MTCNN(stages="face_and_landmarks_detection", device="CPU:0")
        # mtcnn calls its nets eagerly, once per pyramid scale; compiled graphs are ~2.5x faster.
        for stage in self._mtcnn.stages:
            stage._model = tf.function(stage._model, reduce_retracing=True)
        self.min_face_size = min_face_size
        self._lock = threading.Lock()

    def find(self, small: Image.Image) -> list[Found]:
        with self._lock:
            found = self._mtcnn.detect_faces(np.asarray(small), min_face_size=self.min_face_size)
        faces = []
        for face in found:
            x, y, w, h = face["box"]
            if float(face["confidence"]) >= MTCNN_MIN_CONFIDENCE and w > 1 and h > 1:
                points = face["keypoints"]
                eyes = (np.asarray(points["left_eye"], float), np.asarray(points["right_eye"], float))
                faces.append(Found(np.array([x, y, x + w, y + h], float), eyes, float(face["confidence"]), "mtcnn"))
        return faces


class MtcnnLoader:
    """MTCNN, built on first use, or ahead of it in a background thread by ``start()``.

    Building it imports TensorFlow: seconds that a start-up should not wait for, since selfies never need it."""

    def __init__(self, min_face_size: int) -> None:
        self.min_face_size = min_face_size
        self._lock = threading.Lock()
        self._finder: MtcnnFinder | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def start(self) -> None:
        """Build (and warm up) in the background; ``get()`` waits for it."""
        with self._lock:
            if self._thread is None and self._finder is None:
                # Not a daemon: a process that exits early (a start-up failure) waits for the build, because the
                # interpreter finalising while TensorFlow is still importing aborts it (SIGABRT, exit -6).
                self._thread = threading.Thread(target=self._build_in_background, name="mtcnn-load")
                self._thread.start()

    def get(self) -> MtcnnFinder:
        thread = self._thread
        if thread is not None:
            thread.join()
            if self._error is not None:
                raise self._error
        with self._lock:
            if self._finder is None:
                self._finder = MtcnnFinder(self.min_face_size)
            return self._finder

    def _build_in_background(self) -> None:
        try:
            finder = MtcnnFinder(self.min_face_size)
            finder.find(Image.new("RGB", (160, 160), (128, 128, 128)))  # traces its graphs
            self._finder = finder
        except BaseException as exc:  # handed to whoever needs MTCNN next
            self._error = exc


class FaceDetector:
    """BlazeFace for selfies, MTCNN for the rest (see the module doc). Build once; safe to call from several
    threads (each model's calls take turns). ``blazeface``/``mtcnn`` off: that detector alone (benchmarks).
    MTCNN is built on first need; ``warm_up()`` builds it in the background instead."""

    def __init__(self, *, max_side: int = 480, min_face_size: int = 20, crop_size: int = 48,
                 model_dir: Path = FACE_MODEL_DIR, blazeface: bool = True, mtcnn: bool = True) -> None:
        self._blazeface = BlazeFaceFinder(model_dir) if blazeface else None
        self._mtcnn = MtcnnLoader(min_face_size) if mtcnn else None
        self.max_side = max_side
        self.min_face_size = min_face_size
        self.crop_size = crop_size

    def warm_up(self, *, background: bool = True) -> None:
        """Run BlazeFace once now, and build MTCNN in the background (a group photo waits for it if need be);
        ``background`` off: build it now."""
        if self._blazeface is not None:
            self._blazeface.find(Image.new("RGB", (160, 160), (128, 128, 128)))
        if self._mtcnn is not None:
            self._mtcnn.start()
            if not background:
                self._mtcnn.get()

    def find(self, image: Image.Image) -> list[Found]:
        """Raw detections, in the image's pixels."""
        # BlazeFace letterboxes the photo straight to its 128-px input: a selfie never pays for the 480-px copy.
        quick = self._blazeface.find(image) if self._blazeface else []
        if self._mtcnn is None:
            return quick
        if len(quick) == 1 and quick[0].score >= SELFIE_SCORE and \
                quick[0].box[2] - quick[0].box[0] >= SELFIE_FACE * max(image.size):
            return quick
        scale = min(1.0, self.max_side / max(image.size))
        small = image if scale == 1.0 else image.resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.BILINEAR,
            reducing_gap=2.0)
        found = [f.scaled(1 / scale) for f in self._mtcnn.get().find(small)]
        # BlazeFace's sure faces that MTCNN missed (it misses some large, tilted or dark ones) join in.
        boxes = np.array([f.box for f in found]).reshape(-1, 4)
        return found + [f for f in quick if f.score >= SELFIE_SCORE and not (box_iou(f.box, boxes) > 0.3).any()]

    def detect(self, image: Image.Image) -> list[FaceCrop]:
        """All faces in an RGB image, largest first. No face: an empty list."""
        faces: list[FaceCrop] = []
        for found in self.find(image):
            x1, y1 = max(0.0, found.box[0]), max(0.0, found.box[1])
            w, h = min(float(image.width), found.box[2]) - x1, min(float(image.height), found.box[3]) - y1
            if w <= 1 or h <= 1:  # a box off the photo (in BlazeFace's letterbox padding)
                continue
            centre, side, angle = fer_frame(found.eyes, FRAMES[found.detector])
            pixels = aligned_crop(image, centre, side, angle, self.crop_size)
            faces.append(FaceCrop((round(x1), round(y1), round(w), round(h)), found.score, pixels))
        faces.sort(key=lambda f: f.area, reverse=True)
        return faces
