"""Recover a trainable Keras model from a servable model folder (``model.tflite`` + ``metadata.json``).

Shipped models carry only their TFLite export, in which the converter has folded every batch norm (and the
input rescaling) into the preceding convolution or dense layer. To keep training a shipped model, e.g.

    moodtunes train emotion --data ../shared/data/fer2013 --init-from models/candidates/run4 --out runs/default-ft

the folded kernels and biases are copied back into the architecture and each batch norm is re-calibrated on
training images so that it passes its input through unchanged in inference and, in training mode, behaves as
the original did: its moving statistics are set to its input's training-mode statistics, as the original's were.
The recovered model reproduces the TFLite model's outputs; tests check it on real faces.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from moodtunes.core.emotion import METADATA_FILE, MODEL_FILE


def is_servable_folder(path: Path) -> bool:
    path = Path(path)
    return path.is_dir() and (path / MODEL_FILE).is_file() and (path / METADATA_FILE).is_file()


def servable_config(folder: Path):
    """(TrainConfig the model was trained with, its metadata) of a servable folder of one trained model."""
    from moodtunes.training.train_emotion import TrainConfig

    metadata = json.loads((Path(folder) / METADATA_FILE).read_text())
    if "hyperparameters" not in metadata:
        raise ValueError(f"{folder}: its metadata.json has no hyperparameters; only single trained models "
                         "(not ensembles) can be recovered")
    known = TrainConfig.__dataclass_fields__
    return TrainConfig(**{k: v for k, v in metadata["hyperparameters"].items() if k in known}), metadata


def folded_weights(tflite_path: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(op, kernel, bias) for every CONV_2D and FULLY_CONNECTED op of a TFLite model, in graph order.

    Read with TensorFlow's flatbuffer tools (the interpreter's public API has no op list). Kernels come back in
    Keras layout: HWIO for convolutions, (in, out) for dense layers; int8 kernels of a quantized export come back
    dequantized (float32, within half a quantization step of the weights that were exported).
    """
    from tensorflow.lite.python.schema_py_generated import BuiltinOperator, TensorType
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(tflite_path))
    graph = model.subgraphs[0]
    wanted = {BuiltinOperator.CONV_2D: "CONV_2D", BuiltinOperator.FULLY_CONNECTED: "FULLY_CONNECTED"}

    def constant(index: int) -> np.ndarray:
        tensor = graph.tensors[index]
        data = np.asarray(model.buffers[tensor.buffer].data, dtype=np.uint8)
        if tensor.type == TensorType.FLOAT32:
            return data.view(np.float32).reshape(tensor.shape)
        quantization = tensor.quantization
        if tensor.type != TensorType.INT8 or quantization is None or quantization.scale is None:
            raise ValueError(f"{tflite_path}: tensor {index} is neither float32 nor int8 with scales; cannot recover")
        # Dynamic-range exports (training.finalize.QUANTIZATIONS) keep int8 kernels with per-channel scales.
        values = data.view(np.int8).reshape(tensor.shape).astype(np.float32)
        axis_shape = [1] * values.ndim
        if len(quantization.scale) > 1:
            axis_shape[quantization.quantizedDimension] = -1
        scale = np.asarray(quantization.scale, np.float32).reshape(axis_shape)
        zero_point = np.asarray(quantization.zeroPoint, np.float32).reshape(axis_shape)
        return (values - zero_point) * scale

    layers = []
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        name = wanted.get(max(code.builtinCode, code.deprecatedBuiltinCode))
        if name is None:
            continue
        kernel, bias = constant(op.inputs[1]), constant(op.inputs[2])
        kernel = kernel.transpose(1, 2, 3, 0) if name == "CONV_2D" else kernel.T  # OHWI -> HWIO; (out, in)
        layers.append((name, kernel, bias))
    return layers


CALIBRATION_FACES = 4096  # plenty for per-channel means and variances


def recover_keras_model(model_dir: Path, train_images: np.ndarray, build, seed: int = 0):
    """Rebuild ``build()``'s architecture with the weights of the servable model in ``model_dir``.

    Supports the layer pattern of the default CNN (and any net of the same shape): Rescaling, then
    convolutions and dense layers each followed by a batch norm, and a final dense softmax layer.
    ``train_images``: (n, size, size) raw 0-255 training faces; a random CALIBRATION_FACES of them calibrate.
    """
    import keras

    model_dir = Path(model_dir)
    _, metadata = servable_config(model_dir)  # refuses an ensemble's folder: its graph is not one network
    folded = folded_weights(model_dir / MODEL_FILE)
    model = build()
    weighted = [layer for layer in model.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    rescale = next((layer for layer in model.layers if isinstance(layer, keras.layers.Rescaling)), None)
    if len(weighted) != len(folded) or len(norms) != len(weighted) - 1:
        raise ValueError(
            f"{model_dir}: its TFLite graph has {len(folded)} conv/dense layers, the {metadata.get('architecture')!r} "
            f"architecture {len(weighted)} (with {len(norms)} batch norms); cannot map the weights")

    # 1. Kernels in. The batch norms are set in step 2, each before any later layer is probed.
    for i, (layer, (_, kernel, bias)) in enumerate(zip(weighted, folded, strict=True)):
        if tuple(layer.kernel.shape) != kernel.shape:
            raise ValueError(f"{model_dir}: layer {layer.name} expects {tuple(layer.kernel.shape)}, got {kernel.shape}")
        if i == 0 and rescale is not None:
            kernel = kernel / float(rescale.scale)  # the converter folded the 0-255 rescaling into the first kernel
        if layer.use_bias:
            layer.set_weights([kernel, bias])
        else:
            layer.kernel.assign(kernel)

    # 2. Re-calibrate each batch norm, in order, on the statistics its input has in training mode (dropout on,
    # earlier norms on batch statistics), as the original moving averages were. Inference stays unchanged.
    pick = np.random.default_rng(seed).permutation(len(train_images))[:CALIBRATION_FACES]
    calibration_images = train_images[pick, ..., None].astype("float32")
    for k, (norm, (_, _, bias)) in enumerate(zip(norms, folded[:-1], strict=True)):  # the softmax layer has no norm
        probe = keras.Model(model.input, weighted[k].output)
        frozen = [n.get_weights() for n in norms[:k]]
        means, variances = [], []
        for start in range(0, len(calibration_images), 128):
            z = np.asarray(probe(calibration_images[start : start + 128], training=True), dtype="float64")
            axes = tuple(range(z.ndim - 1))
            means.append(z.mean(axis=axes))
            variances.append(z.var(axis=axes))
        for n, weights in zip(norms[:k], frozen, strict=True):  # a training-mode call moves earlier norms' averages
            n.set_weights(weights)
        mean, var = np.mean(means, axis=0).astype("float32"), np.mean(variances, axis=0).astype("float32")
        norm.set_weights([np.sqrt(var + norm.epsilon), mean + bias, mean, var])
    return model
