"""export.calibration: reliability bins and the expected calibration error, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from export.calibration import bin_edges, reliability


def test_bins_start_at_the_lowest_top1_confidence_the_classes_allow():
    assert bin_edges(2, 10) == pytest.approx(np.linspace(0.5, 1.0, 11))
    assert bin_edges(10, 3) == pytest.approx([0.1, 0.4, 0.7, 1.0])


def test_expected_calibration_error_of_a_hand_computed_example():
    probs = np.array([[0.92, 0.08],   # right, bin 0.90-0.95
                      [0.93, 0.07],   # wrong, bin 0.90-0.95
                      [0.27, 0.73],   # right, bin 0.70-0.75
                      [0.52, 0.48],   # wrong, bin 0.50-0.55
                      [np.nan, np.nan]])  # unreadable: left out
    labels = np.array([0, 1, 1, 1, 0])
    rel = reliability(probs, labels)
    # (2/4)|0.5 - 0.925| + (1/4)|1 - 0.73| + (1/4)|0 - 0.52| = 0.2125 + 0.0675 + 0.13
    assert rel["ece"] == pytest.approx(0.41)
    assert rel["n"] == 4 and len(rel["bins"]) == 10
    counts = [b["n"] for b in rel["bins"]]
    assert counts == [1, 0, 0, 0, 1, 0, 0, 0, 2, 0]
    top = rel["bins"][8]
    assert (top["low"], top["high"]) == (pytest.approx(0.9), pytest.approx(0.95))
    assert (top["confidence"], top["accuracy"]) == (pytest.approx(0.925), 0.5)
    assert rel["bins"][1]["confidence"] is None


def test_a_perfectly_calibrated_model_has_no_error_and_edges_fall_in_the_lower_bin():
    probs = np.array([[1.0, 0.0], [0.5, 0.5], [0.5, 0.5]])  # a coin toss, right half the time
    rel = reliability(probs, np.array([0, 0, 1]))
    assert rel["bins"][-1]["n"] == 1 and rel["bins"][0]["n"] == 2
    assert rel["ece"] == pytest.approx(0.0)
