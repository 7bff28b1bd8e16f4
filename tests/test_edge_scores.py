"""edge.scores: quantization glue and top-k, with plain arrays."""

import numpy as np

from edge.scores import dequantize, quantize_input, softmax, top_k


def test_dequantize_casts_before_subtracting_the_zero_point():
    q = np.array([[0, 128, 255]], np.uint8)
    got = dequantize(q, 1 / 256, 128)
    np.testing.assert_allclose(got, [[-0.5, 0.0, 127 / 256]])
    assert got.dtype == np.float32
    np.testing.assert_allclose(dequantize(np.array([-128, 127], np.int8), 0.5, -128), [0, 127.5])


def test_dequantize_leaves_float_and_unquantized_outputs():
    values = np.array([0.25, 0.75], np.float32)
    assert dequantize(values, 0.0, 0) is not values
    np.testing.assert_array_equal(dequantize(values, 0.0, 0), values)
    np.testing.assert_array_equal(dequantize(np.array([3], np.uint8), 0.0, 0), [3.0])


def test_quantize_input_per_dtype():
    pixels = np.array([0, 1, 128, 255], np.uint8)
    assert quantize_input(pixels, np.float32, 0.0, 0).dtype == np.float32
    np.testing.assert_array_equal(quantize_input(pixels, np.uint8, 1.0, 0), pixels)
    np.testing.assert_array_equal(quantize_input(pixels, np.int8, 1.0, -128), [-128, -127, 0, 127])
    np.testing.assert_array_equal(quantize_input(pixels, np.uint8, 2.0, 10), [10, 10, 74, 138])
    np.testing.assert_array_equal(quantize_input(pixels, np.int8, 0.5, 0), [0, 2, 127, 127])


def test_softmax_is_stable_and_sums_to_one():
    got = softmax(np.array([[1000.0, 1000.0], [0.0, np.log(3.0)]]))
    np.testing.assert_allclose(got, [[0.5, 0.5], [0.25, 0.75]], rtol=1e-6)


def test_top_k_orders_and_clamps():
    probs = np.array([0.1, 0.6, 0.3], np.float32)
    names = ("a", "b", "c")
    assert [n for n, _ in top_k(probs, names, 2)] == ["b", "c"]
    assert len(top_k(probs, names, 10)) == 3
    assert top_k(probs, names, 0)[0][0] == "b"
