"""Numeric glue between uint8 pixels, the interpreter's tensors and probabilities (numpy only).

Kept free of the interpreter so every function is tested with plain arrays.
"""

from __future__ import annotations

import numpy as np


def prepare_input(
    batch: np.ndarray,
    dtype: np.dtype | str,
    mean: tuple[float, ...] | None = None,
    std: tuple[float, ...] | None = None,
) -> np.ndarray:
    """uint8 pixels (0..255) to input tensor values, by the TFLite Metadata convention.

    Quantized inputs take the pixels themselves: uint8 as they are, int8 shifted by 128 (the
    tensor's scale and zero point describe what those integers mean; they are not applied
    again). Float inputs take `(pixel - mean) / std`, per channel when three values are given.
    """
    dtype = np.dtype(dtype)
    if dtype == np.uint8:
        return np.ascontiguousarray(batch, dtype=np.uint8)
    if dtype == np.int8:
        return (np.ascontiguousarray(batch, dtype=np.uint8) ^ np.uint8(128)).view(np.int8)
    if dtype.kind != "f":
        raise ValueError(f"unsupported input type {dtype}")
    values = batch.astype(np.float32)
    if mean is not None:
        values -= np.asarray(mean, np.float32)
    if std is not None:
        values /= np.asarray(std, np.float32)
    return values.astype(dtype, copy=False)


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


def two_classes(scores: np.ndarray, logit: bool) -> np.ndarray:
    """(n, 1) single-output scores -> (n, 2) [1 - p, p]; a logit goes through the sigmoid
    first (computed without overflow for large logits)."""
    values = scores.astype(np.float64)
    if logit:
        values = np.where(values >= 0, 1 / (1 + np.exp(-np.abs(values))),
                          np.exp(-np.abs(values)) / (1 + np.exp(-np.abs(values))))
    p = np.clip(values, 0.0, 1.0)
    return np.concatenate([1 - p, p], axis=1).astype(np.float32)


def top_k(probabilities: np.ndarray, class_names: tuple[str, ...], k: int) -> list:
    """The k most probable (label, probability) pairs, best first; ties keep class order."""
    k = max(1, min(k, len(class_names)))
    order = np.argsort(-probabilities, kind="stable")[:k]
    return [(class_names[i], float(probabilities[i])) for i in order]
