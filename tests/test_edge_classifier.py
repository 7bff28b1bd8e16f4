"""edge.Classifier on tiny TFLite models the tests build (float32 and uint8-quantized)."""

import json

import numpy as np
import pytest

from edge import classifier as classifier_module
from edge.classifier import Classifier
from edge.errors import ModelLoadError
from tests.edge_helpers import (
    CLASS_NAMES,
    append_metadata,
    build_model,
    hostile_folder,
    save,
    solid,
)


def _batch(size):
    batch = np.zeros((3, size, size, 3), np.uint8)
    batch[0, ..., 0] = 250
    batch[1, ..., 2] = 250
    batch[2] = 128
    return batch


@pytest.mark.parametrize("kind,output", [("int8", "probabilities"), ("float32", "probabilities"),
                                         ("float32", "logits")])
def test_predict_gives_probabilities(kind, output):
    clf = Classifier(build_model(kind, 16, output))
    assert clf.class_names == CLASS_NAMES and clf.input_size == (16, 16)
    probs = clf.predict(_batch(16))
    assert probs.shape == (3, 2) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=0.01)
    assert probs[0, 0] > 0.95 and probs[1, 1] > 0.95
    np.testing.assert_allclose(probs[2], [0.5, 0.5], atol=0.02)


def test_quantized_and_float_models_agree():
    batch = np.random.default_rng(0).integers(0, 256, (10, 16, 16, 3), dtype=np.uint8)
    batch[:5, ..., 0] = 255
    quantized = Classifier(build_model("int8", 16)).predict(batch)
    reference = Classifier(build_model("float32", 16)).predict(batch)
    assert np.abs(quantized - reference).max() < 0.05


def test_predict_sizes_and_shape_check():
    clf = Classifier(build_model("int8", 16))
    assert clf.predict(np.zeros((0, 16, 16, 3), np.uint8)).shape == (0, 2)
    for n in (1, 5, 2):
        assert clf.predict(np.zeros((n, 16, 16, 3), np.uint8)).shape == (n, 2)
    with pytest.raises(ValueError, match="expected"):
        clf.predict(np.zeros((1, 8, 8, 3), np.uint8))


@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_classify_paths_keeps_order_and_turns_failures_into_rows(tmp_path, batch_size):
    expected = hostile_folder(tmp_path)
    names = sorted(expected) * 2
    clf = Classifier(build_model("int8", 16))
    results = list(clf.classify_paths([tmp_path / n for n in names], top_k=2,
                                      batch_size=batch_size))
    assert [r.path for r in results] == [str(tmp_path / n) for n in names]
    for name, result in zip(names, results, strict=True):
        if expected[name] in CLASS_NAMES:
            assert result.ok and result.label == expected[name] and result.confidence > 0.9
            assert [n for n, _ in result.top_k] == [expected[name], *set(CLASS_NAMES) - {
                expected[name]}]
        else:
            assert not result.ok and result.label is None
            assert result.error_kind == expected[name] and result.error_message


def test_threshold_marks_uncertain_and_keeps_top_class(tmp_path):
    path = save(solid((128, 128, 128)), tmp_path / "gray.png")
    (result,) = Classifier(build_model("int8", 16)).classify_paths([path], threshold=0.9)
    assert result.label == "uncertain" and result.top_class in CLASS_NAMES
    assert result.confidence < 0.9 and result.to_dict()["top_class"] == result.top_class


def test_missing_bundled_model_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setattr(classifier_module, "BUNDLED_MODEL", tmp_path / "missing.tflite")
    with pytest.raises(ModelLoadError, match="--model"):
        Classifier()


def test_foreign_models_need_labels(tmp_path):
    bare = build_model("int8", 16, with_metadata=False)
    with pytest.raises(ModelLoadError, match="--labels"):
        Classifier(bare)
    labels = tmp_path / "labels.txt"
    labels.write_text("kitten\npuppy\n")
    assert Classifier(bare, labels=labels).class_names == ("kitten", "puppy")
    assert Classifier(bare, labels=["a", "b"]).class_names == ("a", "b")
    with pytest.raises(ModelLoadError, match="3 class names"):
        Classifier(bare, labels=["a", "b", "c"])
    with_labels_txt = tmp_path / "m.tflite"
    with_labels_txt.write_bytes(bare.read_bytes())
    append_metadata(with_labels_txt, None, labels=("x", "y"))
    assert Classifier(with_labels_txt).class_names == ("x", "y")


def test_a_bare_float_model_names_both_missing_pieces_at_once():
    bare = build_model("float32", 16, with_metadata=False)
    with pytest.raises(ModelLoadError) as caught:
        Classifier(bare)
    message = str(caught.value)
    assert "--labels" in message and "--mean 127.5 --std 127.5" in message
    with pytest.raises(ModelLoadError, match="--mean 0 --std 255"):
        Classifier(bare, labels=["a", "b"])
    clf = Classifier(bare, labels=["a", "b"], mean=0, std=1)
    assert clf.spec.input.normalization_source == "--mean/--std options"


def test_result_to_dict_survives_a_json_round_trip(tmp_path):
    path = save(solid((250, 0, 0)), tmp_path / "r.jpg")
    (result,) = Classifier(build_model("float32", 16)).classify_paths([path])
    row = result.to_dict()
    assert set(row) == {"path", "label", "confidence", "top_class", "top_k", "probabilities",
                        "error_kind", "error_message"}
    assert row["label"] == "cats" and len(row["probabilities"]) == 2
    again = json.loads(json.dumps(row))
    assert again == row
    assert again["confidence"] == result.confidence
    assert again["probabilities"] == list(result.probabilities)


def test_fixed_batch_models_are_chunked_and_padded():
    clf = Classifier(build_model("float32", 16))
    batch = _batch(16)
    expected = clf.predict(batch)
    clf.predict(np.zeros((4, 16, 16, 3), np.uint8))  # the input tensor now holds 4 images
    clf._dynamic_batch = False  # as a model exported with a fixed batch of 4
    np.testing.assert_allclose(clf.predict(batch), expected, atol=1e-6)
    np.testing.assert_allclose(clf.predict(np.concatenate([batch, batch])),
                               np.concatenate([expected, expected]), atol=1e-6)
