"""TF's bilinear resize (no antialias) in numpy, the per-image hot spot of `edge.pixels.decode`.

The arithmetic is TF's, in float32 and in TF's order (columns, then rows), so the pixels are
bit-identical to what the model was trained and parity-checked on. Speed comes only from
doing less around it: index and weight tables cached per (input size, output size), the two
source rows of every output row interpolated in one pass, and per-thread scratch buffers
(fresh 300 kB arrays per image cost page faults, since each is a new mmap).
"""

from __future__ import annotations

import threading
from functools import lru_cache

import numpy as np

_scratch = threading.local()


def resize_bilinear_tf(
    pixels: np.ndarray, size: tuple[int, int], half_pixel: bool = True
) -> np.ndarray:
    """numpy port of `tf.image.resize(x, size, "bilinear", antialias=False)`, rounded to uint8.

    Half-pixel centers as TF: source = (dst + 0.5) * in/out - 0.5, neighbours clamped to the
    image, arithmetic in float32 in TF's order (columns, then rows). `half_pixel=False` maps
    source = dst * in/out instead (TF1's default, and MediaPipe's CPU warp).
    """
    out_h, out_w = size
    in_h, in_w = pixels.shape[:2]
    if (in_h, in_w) == (out_h, out_w):
        return np.ascontiguousarray(pixels, dtype=np.uint8)
    rows, row_weight = _row_table(in_h, out_h, half_pixel)
    left, right, column_weight = _column_table(in_w, out_w, half_pixel)
    flat = np.ascontiguousarray(pixels, dtype=np.uint8).reshape(in_h, in_w * 3)
    picked, lo, hi = _buffers(2 * out_h, out_w * 3)
    # Every output row needs two source rows (upper, lower): both halves in one pass.
    source = flat[rows]
    np.take(source, left, axis=1, out=picked, mode="clip")
    lo[...] = picked
    np.take(source, right, axis=1, out=picked, mode="clip")
    hi[...] = picked
    hi -= lo
    hi *= column_weight
    hi += lo
    top, bottom = hi[:out_h], hi[out_h:]
    bottom -= top
    bottom *= row_weight
    bottom += top
    # Each lerp stays between its two ends, so after rounding every value is in 0..255.
    np.rint(bottom, out=bottom)
    return bottom.astype(np.uint8).reshape(out_h, out_w, 3)


def _buffers(rows: int, columns: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """This thread's scratch arrays for one output size (decoders run in threads)."""
    buffers = getattr(_scratch, "buffers", None)
    if buffers is None or buffers[0].shape != (rows, columns):
        buffers = (np.empty((rows, columns), np.uint8), np.empty((rows, columns), np.float32),
                   np.empty((rows, columns), np.float32))
        _scratch.buffers = buffers
    return buffers


@lru_cache(maxsize=64)
def _row_table(in_size: int, out_size: int, half_pixel: bool) -> tuple[np.ndarray, np.ndarray]:
    """Source rows (all upper neighbours, then all lower ones) and the weight of the lower."""
    upper, lower, weight = _interpolation(in_size, out_size, half_pixel)
    return _frozen(np.concatenate([upper, lower])), _frozen(weight[:, None])


@lru_cache(maxsize=64)
def _column_table(
    in_size: int, out_size: int, half_pixel: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Byte offsets in an RGB row of the left and right neighbours, and the right's weight."""
    left, right, weight = _interpolation(in_size, out_size, half_pixel)
    channel = np.arange(3)
    return (_frozen((left[:, None] * 3 + channel).ravel()),
            _frozen((right[:, None] * 3 + channel).ravel()),
            _frozen(np.repeat(weight, 3)))


def _interpolation(
    in_size: int, out_size: int, half_pixel: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    scale = np.float32(in_size / out_size)
    shift = np.float32(0.5 if half_pixel else 0.0)
    source = (np.arange(out_size, dtype=np.float32) + shift) * scale - shift
    floor = np.floor(source)
    lower = np.maximum(floor, 0).astype(np.intp)
    upper = np.minimum(np.ceil(source), in_size - 1).astype(np.intp)
    return lower, upper, (source - floor).astype(np.float32)


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array
