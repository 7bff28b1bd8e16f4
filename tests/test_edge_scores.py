"""edge.scores: quantization glue and top-k, with plain arrays."""

import numpy as np
import pytest

from edge.scores import dequantize, prepare_input, softmax, top_k


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


def test_quantized_inputs_get_the_pixels_whatever_their_scale():
    # The TFLite Metadata convention (MediaPipe, Task Library, pycoral): the tensor's scale and
    # zero point describe the integers, they are not applied to the pixels a second time.
    pixels = np.array([0, 1, 127, 128, 255], np.uint8)
    uint8 = prepare_input(pixels, np.uint8)
    assert uint8.dtype == np.uint8
    np.testing.assert_array_equal(uint8, pixels)
    int8 = prepare_input(pixels, np.int8)
    assert int8.dtype == np.int8
    np.testing.assert_array_equal(int8, [-128, -127, -1, 0, 127])


def test_float_inputs_are_normalized_per_value_or_per_channel():
    pixels = np.array([[[0, 127, 255]]], np.uint8)
    raw = prepare_input(pixels, np.float32)
    assert raw.dtype == np.float32
    np.testing.assert_array_equal(raw, [[[0.0, 127.0, 255.0]]])
    np.testing.assert_allclose(prepare_input(pixels, np.float32, (127.5,), (127.5,)),
                               [[[-1.0, -0.003921569, 1.0]]], rtol=1e-6)
    np.testing.assert_allclose(prepare_input(pixels, np.float32, (0.0,), (255.0,)),
                               [[[0.0, 127 / 255, 1.0]]], rtol=1e-6)
    per_channel = prepare_input(pixels, np.float32, (0.0, 127.0, 255.0), (1.0, 2.0, 5.0))
    np.testing.assert_allclose(per_channel, [[[0.0, 0.0, 0.0]]])


def test_other_input_types_are_refused():
    with pytest.raises(ValueError, match="int16"):
        prepare_input(np.zeros(3, np.uint8), np.int16)


def test_softmax_is_stable_and_sums_to_one():
    got = softmax(np.array([[1000.0, 1000.0], [0.0, np.log(3.0)]]))
    np.testing.assert_allclose(got, [[0.5, 0.5], [0.25, 0.75]], rtol=1e-6)


def test_top_k_orders_and_clamps():
    probs = np.array([0.1, 0.6, 0.3], np.float32)
    names = ("a", "b", "c")
    assert [n for n, _ in top_k(probs, names, 2)] == ["b", "c"]
    assert len(top_k(probs, names, 10)) == 3
    assert top_k(probs, names, 0)[0][0] == "b"
