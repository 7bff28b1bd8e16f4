"""Numeric glue between uint8 pixels, the interpreter's tensors and probabilities (numpy only).

Kept free of the interpreter so every function is tested with plain arrays.
"""

from __future__ import annotations

import numpy as np


def quantize_input(batch: np.ndarray, dtype: np.dtype, scale: float, zero_point: int) -> np.ndarray:
    """uint8 pixels (0..255) to what the input tensor expects.

    float inputs get the raw 0..255 values (preprocessing lives inside the model); quantized
    inputs use the tensor's own scale and zero point, rounded and clipped to the dtype.
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return batch.astype(dtype)
    if not scale:
        scale, zero_point = 1.0, 0
    if scale == 1.0:
        shifted = batch.astype(np.int32) + int(zero_point)
    else:
        shifted = np.rint(batch.astype(np.float32) / np.float32(scale)) + zero_point
    info = np.iinfo(dtype)
    return np.clip(shifted, info.min, info.max).astype(dtype)


def dequantize(values: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Quantized outputs back to float32, as pycoral does.

    The cast to int64 comes before subtracting the zero point: uint8 minus a zero point would
    wrap around in uint8 arithmetic.
    """
    if values.dtype.kind == "f" or not scale:
        return values.astype(np.float32)
    return (scale * (values.astype(np.int64) - zero_point)).astype(np.float32)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large logits."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return (exp / exp.sum(axis=-1, keepdims=True)).astype(np.float32)


def top_k(probabilities: np.ndarray, class_names: tuple[str, ...], k: int) -> list:
    """The k most probable (label, probability) pairs, best first; ties keep class order."""
    k = max(1, min(k, len(class_names)))
    order = np.argsort(-probabilities, kind="stable")[:k]
    return [(class_names[i], float(probabilities[i])) for i in order]
