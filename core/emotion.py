"""Emotion classifier serving: a TFLite (LiteRT) model plus its metadata, loaded once, no Keras per call."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moodtunes.core.emotions import EMOTIONS
from moodtunes.core.errors import ModelError

MODEL_FILE = "model.tflite"
METADATA_FILE = "metadata.json"


@dataclass(frozen=True)
class EmotionPrediction:
    """Probabilities over the seven emotions, in EMOTIONS order."""

    probabilities: tuple[float, ...]

    @property
    def emotion(self) -> str:
        return EMOTIONS[int(np.argmax(self.probabilities))]

    @property
    def confidence(self) -> float:
        return float(max(self.probabilities))

    def as_dict(self) -> dict[str, float]:
        return {name: round(float(p), 6) for name, p in zip(EMOTIONS, self.probabilities, strict=True)}


def tflite_interpreter(model_path: Path, threads: int = 1):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # LiteRT wheels are missing on some platforms; TF still bundles the same runtime.
        from tensorflow.lite import Interpreter
    return Interpreter(model_path=str(model_path), num_threads=threads)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class EmotionModel:
    """The shipped classifier. ``predict`` takes (n, size, size) uint8 greyscale faces.

    With ``tta_flip`` in the metadata, each face is also classified mirrored and the two
    probability vectors are averaged (decided before training, not tuned on val).
    """

    def __init__(self, model_dir: Path, threads: int = 1) -> None:
        model_dir = Path(model_dir)
        model_path, meta_path = model_dir / MODEL_FILE, model_dir / METADATA_FILE
        for path in (model_path, meta_path):
            if not path.is_file():
                raise ModelError(f"{path}: file not found (model folder must hold {MODEL_FILE} and {METADATA_FILE})")
        try:
            self.metadata = json.loads(meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise ModelError(f"{meta_path}: not valid JSON ({exc})") from exc
        if tuple(self.metadata.get("classes", ())) != EMOTIONS:
            raise ModelError(f"{meta_path}: 'classes' must be {list(EMOTIONS)}")
        self.input_size = int(self.metadata.get("input_size", 48))
        self.tta_flip = bool(self.metadata.get("tta_flip", False))
        self.version = str(self.metadata.get("version", "unknown"))
        try:
            self._interpreter = tflite_interpreter(model_path, threads)
            self._input = self._interpreter.get_input_details()[0]
            self._output = self._interpreter.get_output_details()[0]
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"{model_path}: not a loadable TFLite model ({exc})") from exc
        shape = tuple(self._input["shape"][1:])
        if shape != (self.input_size, self.input_size, 1):
            raise ModelError(f"{model_path}: input shape {shape} does not match metadata input_size {self.input_size}")
        self._batch = 0
        # One interpreter holds one set of tensors: calls from several threads take turns.
        self._lock = threading.Lock()

    def predict_proba(self, faces: np.ndarray) -> np.ndarray:
        """(n, size, size) uint8 -> (n, 7) float32 probabilities."""
        faces = np.asarray(faces)
        if faces.ndim == 2:
            faces = faces[None]
        if faces.shape[1:] != (self.input_size, self.input_size):
            raise ValueError(f"faces must be (n, {self.input_size}, {self.input_size}), got {faces.shape}")
        n = len(faces)
        if n == 0:
            return np.zeros((0, len(EMOTIONS)), dtype=np.float32)
        batch = faces[..., None].astype(np.float32)
        if self.tta_flip:
            batch = np.concatenate([batch, batch[:, :, ::-1]])
        with self._lock:
            if self._batch != len(batch):
                shape = [len(batch), self.input_size, self.input_size, 1]
                self._interpreter.resize_tensor_input(self._input["index"], shape)
                self._interpreter.allocate_tensors()
                self._batch = len(batch)
            self._interpreter.set_tensor(self._input["index"], batch)
            self._interpreter.invoke()
            probs = self._interpreter.get_tensor(self._output["index"]).copy()
        if self.tta_flip:
            probs = (probs[:n] + probs[n:]) / 2
        return probs

    def predict(self, faces: np.ndarray) -> list[EmotionPrediction]:
        return [EmotionPrediction(tuple(float(p) for p in row)) for row in self.predict_proba(faces)]

    def predict_many(self, faces: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Probabilities for a large array of faces, in batches (for evaluation)."""
        return np.concatenate([self.predict_proba(faces[i : i + batch_size]) for i in range(0, len(faces), batch_size)])
