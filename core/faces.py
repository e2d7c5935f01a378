"""Face detection (MTCNN, weights ship inside the mtcnn wheel), eye alignment and FER-style crops."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np
from PIL import Image

# Square crop side = largest box side * (1 + CROP_MARGIN); FER2013 faces are framed about this tightly.
CROP_MARGIN = 0.15
MIN_CONFIDENCE = 0.90


@dataclass(frozen=True)
class FaceCrop:
    """One detected face: its box in the original photo (x, y, width, height), and the classifier input."""

    box: tuple[int, int, int, int]
    confidence: float
    pixels: np.ndarray  # (size, size) uint8 greyscale, eyes level

    @property
    def area(self) -> int:
        return self.box[2] * self.box[3]


def aligned_crop(image: Image.Image, center: tuple[float, float], side: float, angle: float, size: int) -> np.ndarray:
    """Cut a ``side``-pixel square around ``center``, rotated by ``angle`` (radians) so the eyes are level,
    and return it as ``size`` x ``size`` greyscale."""
    cos, sin = math.cos(angle), math.sin(angle)
    n = max(size, int(round(side)))
    cx, cy = center
    # Output pixel (u, v) samples source point center + R(angle) @ ((u, v) - n/2).
    coefficients = (cos, -sin, cx - cos * n / 2 + sin * n / 2, sin, cos, cy - sin * n / 2 - cos * n / 2)
    crop = image.transform((n, n), Image.Transform.AFFINE, coefficients, resample=Image.Resampling.BILINEAR)
    grey = crop.convert("L")
    if n != size:
        grey = grey.resize((size, size), Image.Resampling.BOX)
    return np.asarray(grey, dtype=np.uint8)


class FaceDetector:
    """MTCNN face detector. Build once; safe to call from several threads (calls take turns)."""

    def __init__(self, *, max_side: int = 480, min_face_size: int = 20, crop_size: int = 48) -> None:
        import tensorflow as tf
        from mtcnn import MTCNN

        self._mtcnn = MTCNN(stages="face_and_landmarks_detection", device="CPU:0")
        # mtcnn calls its three Keras nets eagerly, once per pyramid scale; compiled graphs are ~2.5x faster.
        for stage in self._mtcnn.stages:
            stage._model = tf.function(stage._model, reduce_retracing=True)
        self.max_side = max_side
        self.min_face_size = min_face_size
        self.crop_size = crop_size
        self._lock = threading.Lock()

    def detect(self, image: Image.Image) -> list[FaceCrop]:
        """All faces in an RGB image, largest first. No face: an empty list."""
        scale = min(1.0, self.max_side / max(image.size))
        small = image if scale == 1.0 else image.resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.BILINEAR
        )
        with self._lock:
            found = self._mtcnn.detect_faces(np.asarray(small), min_face_size=self.min_face_size)
        faces: list[FaceCrop] = []
        for face in found:
            if float(face["confidence"]) < MIN_CONFIDENCE:
                continue
            x, y, w, h = (v / scale for v in face["box"])
            if w <= 1 or h <= 1:
                continue
            left_eye = np.asarray(face["keypoints"]["left_eye"], dtype=float) / scale
            right_eye = np.asarray(face["keypoints"]["right_eye"], dtype=float) / scale
            dx, dy = right_eye - left_eye
            angle = math.atan2(dy, dx)
            side = max(w, h) * (1 + CROP_MARGIN)
            pixels = aligned_crop(image, (x + w / 2, y + h / 2), side, angle, self.crop_size)
            faces.append(FaceCrop((round(x), round(y), round(w), round(h)), float(face["confidence"]), pixels))
        faces.sort(key=lambda f: f.area, reverse=True)
        return faces
