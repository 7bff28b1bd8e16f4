"""The four architectures against the study's specification, and base-weights resolution."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from train.errors import PawliteError
from train.models import build_base, build_model, param_counts, resolve_base_weights

CONV_BLOCKS = ["Conv2D", "MaxPooling2D"] * 3
HEAD = ["Flatten", "Dense", "Dense"]
AUGMENT = ["RandomFlip", "RandomRotation"]
EXPECTED_LAYERS = {
    1: CONV_BLOCKS + ["Dropout"] + HEAD,
    2: AUGMENT + CONV_BLOCKS[:2] + ["Dropout"] + CONV_BLOCKS[2:] + HEAD,
    3: ["Rescaling"] + AUGMENT + CONV_BLOCKS[:2] + ["Dropout"] + CONV_BLOCKS[2:] + HEAD,
    4: ["Rescaling"] + AUGMENT
    + ["Functional", "GlobalMaxPooling2D", "Dropout", "Flatten", "Dense", "Dense"],
}
# 160 -conv-> 158 -pool-> 79 -conv-> 77 -pool-> 38 -conv-> 36 -pool-> 18; 18*18*64 = 20,736.
CONV_PARAMS = (3 * 3 * 3 * 32 + 32) + (3 * 3 * 32 * 32 + 32) + (3 * 3 * 32 * 64 + 64)
SMALL_CNN_PARAMS = CONV_PARAMS + (18 * 18 * 64 * 64 + 64) + (64 * 2 + 2)
MODEL4_TRAINABLE = (1280 * 64 + 64) + (64 * 2 + 2)
MOBILENET_V2_NO_TOP_PARAMS = 2_257_984


@pytest.fixture(scope="module")
def models():
    return {n: build_model(n, (160, 160), weights=None, seed=1) for n in (1, 2, 3, 4)}


def _layers(model):
    return [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_layer_types_in_order(models, number):
    assert [type(layer).__name__ for layer in _layers(models[number])] == EXPECTED_LAYERS[number]


def test_hand_counted_parameters():
    assert SMALL_CNN_PARAMS == 1_355_938
    assert MODEL4_TRAINABLE == 82_114


@pytest.mark.parametrize("number", [1, 2, 3])
def test_small_cnn_parameter_counts(models, number):
    assert param_counts(models[number]) == {
        "trainable": SMALL_CNN_PARAMS, "total": SMALL_CNN_PARAMS, "non_trainable": 0
    }


def test_model4_trains_only_its_head(models):
    counts = param_counts(models[4])
    assert counts["trainable"] == MODEL4_TRAINABLE
    assert counts["total"] == MODEL4_TRAINABLE + MOBILENET_V2_NO_TOP_PARAMS
    base = models[4].get_layer(index=4)
    assert base.name.startswith("mobilenetv2_1.00_160") and base.trainable is False


def test_output_shapes(models):
    shapes = [layer.output.shape for layer in _layers(models[1])]
    assert shapes[:7] == [
        (None, 158, 158, 32), (None, 79, 79, 32), (None, 77, 77, 32), (None, 38, 38, 32),
        (None, 36, 36, 64), (None, 18, 18, 64), (None, 18, 18, 64),
    ]
    assert shapes[7:] == [(None, 20736), (None, 64), (None, 2)]
    model4 = [layer.output.shape for layer in _layers(models[4])]
    assert model4 == [(None, 160, 160, 3)] * 3 + [
        (None, 5, 5, 1280), (None, 1280), (None, 1280), (None, 1280), (None, 64), (None, 2)
    ]
    for number in (1, 2, 3, 4):
        assert models[number].output_shape == (None, 2)


def test_hyperparameters_are_the_studys(models):
    from keras import activations, layers, losses, optimizers

    for model in models.values():
        assert isinstance(model.optimizer, optimizers.Adam)
        assert float(model.optimizer.learning_rate) == pytest.approx(0.001)
        assert isinstance(model.loss, losses.SparseCategoricalCrossentropy)
        assert model.loss.from_logits
        for layer in _layers(model):
            if isinstance(layer, layers.Dropout):
                assert layer.rate == 0.2
            if isinstance(layer, layers.RandomFlip):
                assert layer.mode == "horizontal_and_vertical"
            if isinstance(layer, layers.RandomRotation):
                assert layer.factor == (-0.2, 0.2)
            if isinstance(layer, layers.Conv2D):
                assert layer.kernel_size == (3, 3) and layer.activation is activations.relu
        dense = [layer for layer in _layers(model) if isinstance(layer, layers.Dense)]
        assert [d.units for d in dense] == [64, 2]
        assert dense[0].activation is activations.relu
        assert dense[1].activation is activations.linear


def test_preprocessor_equals_mobilenet_preprocess_input(models):
    import keras

    pixels = np.random.default_rng(0).uniform(0, 255, (4, 160, 160, 3)).astype("float32")
    pixels[0, 0, 0] = [0, 127.5, 255]
    ours = np.asarray(models[4].get_layer("mobilenet_v2_preprocess")(pixels))
    reference = np.asarray(keras.applications.mobilenet_v2.preprocess_input(pixels.copy()))
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours[0, 0, 0], [-1, 0, 1], atol=1e-6)


def test_frozen_base_is_in_inference_mode_even_when_training(models):
    base = models[4].get_layer(index=4)
    x = np.random.default_rng(1).uniform(-1, 1, (2, 160, 160, 3)).astype("float32")
    np.testing.assert_allclose(
        np.asarray(base(x, training=True)), np.asarray(base(x, training=False)), atol=1e-6
    )


def test_saved_model4_reloads_without_custom_code(tmp_path):
    import keras

    model = build_model(4, (64, 64), weights=None, seed=2)
    model.save(tmp_path / "model4.keras")
    reloaded = keras.models.load_model(tmp_path / "model4.keras")
    x = np.random.default_rng(2).uniform(0, 255, (3, 64, 64, 3)).astype("float32")
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-5)
    assert param_counts(reloaded) == param_counts(model)


def test_same_seed_same_initial_weights():
    a, b, c = (build_model(1, (32, 32), seed=s) for s in (5, 5, 6))
    np.testing.assert_array_equal(a.layers[0].get_weights()[0], b.layers[0].get_weights()[0])
    assert not np.array_equal(a.layers[0].get_weights()[0], c.layers[0].get_weights()[0])


def test_unknown_model_number():
    with pytest.raises(PawliteError, match="--models"):
        build_model(5)


@pytest.fixture(scope="module")
def random_weights_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("weights") / "random_mnv2.weights.h5"
    build_base((32, 32), None).save_weights(path)
    return path


def test_weights_file_is_loaded_and_identified(random_weights_file):
    weights = resolve_base_weights(str(random_weights_file))
    assert weights.sha256 == hashlib.sha256(random_weights_file.read_bytes()).hexdigest()
    assert weights.path == random_weights_file.resolve()
    assert resolve_base_weights(random_weights_file) == weights  # the Python API takes a Path
    model = build_model(4, (48, 48), weights=weights.path)
    expected = build_base((32, 32), random_weights_file).get_layer("Conv1").get_weights()[0]
    loaded = model.get_layer(index=4).get_layer("Conv1").get_weights()[0]
    np.testing.assert_array_equal(loaded, expected)


def test_missing_weights_file_names_the_file_and_option(tmp_path):
    missing = tmp_path / "nope.h5"
    with pytest.raises(PawliteError) as err:
        resolve_base_weights(str(missing))
    assert str(missing) in str(err.value) and "--base-weights" in str(err.value)


def test_corrupt_weights_file_names_the_file_and_option(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not an hdf5 file")
    with pytest.raises(PawliteError) as err:
        build_model(4, (32, 32), weights=resolve_base_weights(str(bad)).path)
    assert str(bad) in str(err.value) and "--base-weights" in str(err.value)


@pytest.mark.parametrize("spec", ["imagenet", "http://127.0.0.1:9/weights.h5"])
def test_unreachable_url_names_the_url_and_option(spec):
    url = "http://127.0.0.1:9/mobilenet_v2.h5"
    with pytest.raises(PawliteError) as err:
        resolve_base_weights(spec, imagenet_url=url)
    expected_url = url if spec == "imagenet" else spec
    assert expected_url in str(err.value) and "--base-weights" in str(err.value)


def test_imagenet_default_points_at_kerass_official_file():
    import keras.src.applications.mobilenet_v2 as keras_mnv2

    from train.models import IMAGENET_WEIGHTS_URL

    assert IMAGENET_WEIGHTS_URL == (
        keras_mnv2.BASE_WEIGHT_PATH
        + "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5"
    )


def test_real_base_weights_load_into_model4(base_weights_path):
    """Runs with PAWLITE_BASE_WEIGHTS or ../shared's file (conftest), skips otherwise."""
    weights = resolve_base_weights(base_weights_path)
    model = build_model(4, (160, 160), weights=weights.path)
    random = build_base((160, 160), None).get_layer("Conv1").get_weights()[0]
    loaded = model.get_layer(index=4).get_layer("Conv1").get_weights()[0]
    assert loaded.shape == random.shape and not np.allclose(loaded, random)
    assert param_counts(model)["trainable"] == MODEL4_TRAINABLE
