"""The model shipped inside edge still scores what its committed parity report says.

This guards edge's decode and resize: a change that shifts the pixels the device feeds the
model shows up here as lost accuracy on the fixed test split.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edge.classifier import BUNDLED_MODEL, Classifier
from edge.modelfile.modelinfo import read_model_info
from train.split import Split

ROOT = Path(__file__).resolve().parents[1]
COMMITTED_SPLIT = ROOT / "results" / "split.json"
COMMITTED_PARITY = BUNDLED_MODEL.parent / "parity.json"
# Edge is deterministic: the same model, files and code give the same verdicts, so the test
# split (one image = 0.52 points of 192) may not lose a single image the committed report counts
# as right (an allowance in points would hide a lost image below 0.52).
ALLOWED_LOST_IMAGES = 0


def test_bundled_model_is_small_and_carries_its_metadata():
    assert BUNDLED_MODEL.stat().st_size <= 3_000_000
    info = read_model_info(BUNDLED_MODEL)
    assert info is not None
    assert info.class_names == ("cats", "dogs")
    assert (info.height, info.width, info.dtype) == (160, 160, "uint8")
    assert info.output == "probabilities" and info.quantization == "int8"


def committed_test_correct() -> int:
    """How many test images the committed parity report counts as right for the int8 file."""
    report = json.loads(COMMITTED_PARITY.read_text())
    (row,) = [r for r in report["variants"] if r["variant"] == "int8"]
    test = row["sets"]["test"]
    return round(test["tflite_accuracy"] * test["n"])


@pytest.mark.realdata
def test_bundled_model_keeps_its_committed_test_accuracy(real_split):
    split = Split.load(COMMITTED_SPLIT, data_root=real_split.data_root)
    assert split.splits["test"] == real_split.splits["test"], "the seeded split changed"
    clf = Classifier()
    results = list(clf.classify_paths(split.paths("test")))
    assert all(r.ok for r in results)
    correct = sum(
        r.top_class == split.class_names[y]
        for r, y in zip(results, split.labels("test"), strict=True)
    )
    floor = committed_test_correct() - ALLOWED_LOST_IMAGES
    assert correct >= floor, (f"bundled model: {correct} of {len(results)} test images right, "
                              f"needs at least {floor} (the committed parity report)")


REFERENCE_PROBABILITIES = ROOT / "tests" / "fixtures" / "bundled_test_probabilities.json"


@pytest.mark.realdata
def test_bundled_model_probabilities_are_unchanged(real_split):
    """Edge's input handling for foreign models must leave pawlite's own model bit for bit."""
    from train.download import sha256_of

    reference = json.loads(REFERENCE_PROBABILITIES.read_text())
    assert sha256_of(BUNDLED_MODEL) == reference["model_sha256"], (
        "the bundled model was re-exported: regenerate "
        f"{REFERENCE_PROBABILITIES.name} with the edge code of the previous model"
    )
    root = Path(real_split.data_root)
    paths = [root / relative for relative, _ in reference["rows"]]
    results = list(Classifier().classify_paths(paths))
    got = np.array([r.probabilities for r in results], np.float32)
    expected = np.array([probs for _, probs in reference["rows"]], np.float32)
    assert np.abs(got - expected).max() <= 1e-6
