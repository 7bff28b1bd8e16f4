"""edge.pixels.resize: the fast resize must give exactly the pixels of the plain arithmetic.

`_reference` below is the straightforward port (fresh arrays, tables rebuilt every call,
explicit clip) that the bundled model's parity report was measured with; the fast one may
only differ in how it gets there.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from edge.pixels.decode import resize_bilinear_tf as from_decode
from edge.pixels.resize import resize_bilinear_tf


def _reference(pixels: np.ndarray, size: tuple[int, int], half_pixel: bool) -> np.ndarray:
    out_h, out_w = size
    in_h, in_w = pixels.shape[:2]
    if (in_h, in_w) == (out_h, out_w):
        return pixels.copy()

    def table(in_size, out_size):
        scale = np.float32(in_size / out_size)
        shift = np.float32(0.5 if half_pixel else 0.0)
        source = (np.arange(out_size, dtype=np.float32) + shift) * scale - shift
        floor = np.floor(source)
        lower = np.maximum(floor, 0).astype(np.int64)
        upper = np.minimum(np.ceil(source), in_size - 1).astype(np.int64)
        return lower, upper, (source - floor).astype(np.float32)

    def lerp(a, b, weight):
        a = a.astype(np.float32)
        return a + (b.astype(np.float32) - a) * weight

    y0, y1, ly = table(in_h, out_h)
    x0, x1, lx = table(in_w, out_w)
    image = pixels.astype(np.float32)
    top = lerp(image[y0][:, x0], image[y0][:, x1], lx[:, None])
    bottom = lerp(image[y1][:, x0], image[y1][:, x1], lx[:, None])
    out = lerp(top, bottom, ly[:, None, None])
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _sizes(rng: np.random.Generator, count: int) -> list[tuple[int, int]]:
    """Shapes from 1 pixel to a few hundred, in every aspect, plus the usual photo sizes."""
    sizes = [(1, 1), (1, 7), (9, 1), (2, 2), (160, 160), (375, 500), (500, 333), (159, 161)]
    sizes += [tuple(int(v) for v in rng.integers(1, 400, 2)) for _ in range(count)]
    return sizes


@pytest.mark.parametrize("half_pixel", [True, False])
def test_bit_identical_to_the_plain_arithmetic_on_random_sizes(half_pixel):
    rng = np.random.default_rng(15)
    targets = [(160, 160), (224, 224), (1, 1), (1, 5), (7, 1), (33, 97), (300, 200), (96, 128)]
    for in_size in _sizes(rng, 40):
        kind = rng.integers(0, 3)
        if kind == 0:
            pixels = rng.integers(0, 256, (*in_size, 3), dtype=np.uint8)
        else:  # saturated images: the rounding at 0 and 255 must not need the clip
            pixels = rng.choice(np.array([0, 255], np.uint8), (*in_size, 3))
        for size in targets:
            expected = _reference(pixels, size, half_pixel)
            got = resize_bilinear_tf(pixels, size, half_pixel)
            assert got.dtype == np.uint8 and got.shape == (*size, 3)
            assert np.array_equal(got, expected), (in_size, size, half_pixel)


def test_non_contiguous_input_and_untouched_source():
    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)
    view = pixels[::-1, ::2]
    kept = view.copy()
    assert np.array_equal(resize_bilinear_tf(view, (40, 30)), _reference(kept, (40, 30), True))
    assert np.array_equal(view, kept)
    assert from_decode is resize_bilinear_tf


def test_results_do_not_share_the_scratch_buffers():
    rng = np.random.default_rng(3)
    first_pixels, second_pixels = (rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)
                                   for _ in range(2))
    first = resize_bilinear_tf(first_pixels, (20, 20))
    resize_bilinear_tf(second_pixels, (20, 20))
    assert np.array_equal(first, _reference(first_pixels, (20, 20), True))


def test_threads_resizing_at_once_get_their_own_pixels():
    rng = np.random.default_rng(4)
    images = [rng.integers(0, 256, (int(h), int(w), 3), dtype=np.uint8)
              for h, w in rng.integers(20, 200, (8, 2))]
    expected = [_reference(image, (64, 48), True) for image in images]
    wrong: list[int] = []

    def work(index: int) -> None:
        for _ in range(30):
            if not np.array_equal(resize_bilinear_tf(images[index], (64, 48)), expected[index]):
                wrong.append(index)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(images))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
