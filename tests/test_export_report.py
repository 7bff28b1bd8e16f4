"""export.report: the metrics of one image set, and parity.json / parity.md / the console lines
made from one document. No TensorFlow needed."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from export.config import ExportConfig
from export.report import (
    FORMAT,
    Check,
    build_report,
    compact_int_lists,
    compare,
    console_lines,
    flips_beyond_coin_tosses,
    paired_interval_points,
    resize_finding,
    write_report,
)


def test_compare_counts_accuracy_agreement_and_edge_errors():
    keras = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    tflite = np.array([[0.8, 0.2], [0.6, 0.4], [np.nan, np.nan], [0.3, 0.7]])
    labels = np.array([0, 1, 0, 0])
    m = compare(keras, tflite, labels, ("cats", "dogs")).to_json()
    assert (m["keras_accuracy"], m["tflite_accuracy"]) == (0.75, 0.25)
    assert m["accuracy_diff_points"] == pytest.approx(-50.0)
    assert (m["agreement"], m["disagreements"], m["edge_errors"]) == (0.5, 2, 1)
    assert m["max_prob_diff"] == pytest.approx(0.4)
    assert m["confusion"]["keras"] == [[2, 1], [0, 1]]
    assert m["confusion"]["tflite"] == [[1, 1], [1, 0]]
    assert m["per_class"]["cats"] == {"n": 3, "keras_accuracy": 2 / 3, "tflite_accuracy": 1 / 3}
    assert m["changed_verdicts"] == {"tflite_right_keras_wrong": 0, "keras_right_tflite_wrong": 2}


def test_each_models_own_accuracy_carries_its_interval_images_and_choices():
    keras = np.array([[0.9, 0.1]] * 8 + [[0.2, 0.8]] * 2)
    tflite = keras.copy()
    tflite[0] = [np.nan, np.nan]
    labels = np.zeros(10, np.int64)
    m = compare(keras, tflite, labels, ("cats", "dogs"), "test split", ("epoch",)).to_json()
    # Wilson 95% for 8/10 and 7/10, worked by hand: 0.490-0.943 and 0.397-0.892.
    assert m["keras"]["correct"] == 8 and m["keras"]["n"] == 10
    assert m["keras"]["ci95"] == [pytest.approx(0.4902, abs=1e-4), pytest.approx(0.9433, abs=1e-4)]
    assert m["tflite"]["correct"] == 7
    assert m["tflite"]["ci95"] == [pytest.approx(0.3968, abs=1e-4), pytest.approx(0.8922, abs=1e-4)]
    assert m["tflite"]["images"] == "test split" and m["tflite"]["chose"] == ["epoch"]


def test_agreement_is_split_by_how_sure_keras_is():
    keras = np.array([[0.95, 0.05], [0.9, 0.1], [0.55, 0.45], [0.52, 0.48], [0.4, 0.6]])
    tflite = np.array([[0.9, 0.1], [0.2, 0.8], [0.45, 0.55], [0.53, 0.47], [0.4, 0.6]])
    split = compare(keras, tflite, np.zeros(5, np.int64), ("a", "b")).by_confidence
    assert split["level"] == 0.8
    assert split["confident"] == {"n": 2, "disagreements": 1, "agreement": 0.5}
    assert split["unsure"]["n"] == 3 and split["unsure"]["disagreements"] == 1
    # P(at least 1 of 3 fair coins) = 7/8.
    assert split["unsure"]["p_beyond_coin_tosses"] == pytest.approx(7 / 8)


def test_coin_toss_tail_by_hand():
    assert flips_beyond_coin_tosses(0, 10) == 1.0
    assert flips_beyond_coin_tosses(10, 10) == pytest.approx(1 / 1024)
    assert flips_beyond_coin_tosses(9, 10) == pytest.approx(11 / 1024)
    assert flips_beyond_coin_tosses(3, 0) == 1.0


def test_integer_lists_are_written_on_one_line_and_read_back_unchanged(tmp_path):
    report = {"a": [1, -1, 0], "b": [[1, 2], [3, 4]], "c": [0.5, 1], "text": "[1, 2]"}
    text = compact_int_lists(json.dumps(report, indent=1))
    assert '"a": [1,-1,0]' in text and '"b": [\n  [1,2],\n  [3,4]\n ]' in text
    assert '"c": [\n  0.5,\n  1\n ]' in text and '"[1, 2]"' in text
    assert json.loads(text) == report


def test_paired_interval_shows_how_coarse_a_small_test_split_is():
    # 4 images lost on 192: -2.08 points, yet the interval reaches -0.06.
    lo, hi = paired_interval_points(gained=0, lost=4, n=192)
    assert (lo, hi) == (pytest.approx(-4.10, abs=0.01), pytest.approx(-0.06, abs=0.01))
    lo, hi = paired_interval_points(gained=2, lost=2, n=192)
    assert (lo, hi) == (pytest.approx(-2.04, abs=0.01), pytest.approx(2.04, abs=0.01))
    assert paired_interval_points(0, 0, 1000) == [0.0, 0.0]


def test_resize_finding_separates_resize_from_quantization():
    def row(variant, resize, disagreements):
        return {"variant": variant, "resize": resize, "disagreements": disagreements,
                "agreement": 1 - disagreements / 1000, "mean_abs_prob_diff": disagreements / 1e4}

    study = [row("int8", "tf-bilinear", 9), row("int8", "pillow-bilinear", 15),
             row("float32 (reference)", "tf-bilinear", 1),
             row("float32 (reference)", "pillow-bilinear", 6)]
    text = resize_finding(study, ["tf-bilinear"])
    assert "1 top-1 disagreements with Keras using tf-bilinear" in text
    assert "6 using pillow-bilinear" in text
    assert "(+8 vs float32 at the same resize: the quantization gap)" in text
    assert "Closest resize for int8: tf-bilinear" in text


def test_set_comparison_json_keeps_parity_json_field_order():
    m = compare(np.array([[0.9, 0.1]]), np.array([[0.8, 0.2]]), np.array([0]), ("cats", "dogs"))
    assert list(m.to_json()) == [
        "n", "keras_accuracy", "tflite_accuracy", "accuracy_diff_points", "changed_verdicts",
        "accuracy_diff_95ci_points", "agreement", "disagreements", "max_prob_diff",
        "mean_abs_prob_diff", "edge_errors", "per_class", "confusion", "keras", "tflite",
        "by_confidence"]
    assert Check("agreement", 0.97, 0.98, False).to_json() == {
        "name": "agreement", "value": 0.97, "limit": 0.98, "passed": False}


class _Row:
    """Stands in for export.parity.VariantResult: what build_report reads."""

    def __init__(self, variant, passed, sets):
        self.variant, self.resize, self.passed, self._sets = variant, "tf-bilinear", passed, sets

    def to_json(self):
        return {"variant": self.variant, "path": f"out/{self.variant}.tflite",
                "size_bytes": 2_500_000, "resize": self.resize,
                "from_this_keras_model": True, "calibration": None, "latency_ms": 4.25,
                "errors": [], "sets": {k: v.to_json() for k, v in self._sets.items()},
                "checks": [Check("top-1 agreement on validation folder", 0.5, 0.98,
                                 self.passed).to_json()],
                "passed": self.passed}


def _report(passed: bool) -> dict:
    keras = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.4, 0.6]])
    tflite = keras if passed else keras[:, ::-1]
    labels = np.array([0, 1, 0, 1])
    sets = {"test": compare(keras[:2], tflite[:2], labels[:2], ("cats", "dogs")),
            "validation_folder": compare(keras, tflite, labels, ("cats", "dogs"))}
    split = SimpleNamespace(class_names=("cats", "dogs"), dataset_sha256="d" * 64, seed=7)
    return build_report(ExportConfig(), split, "k" * 64, [_Row("int8", passed, sets)], [])


def test_the_report_document_and_its_two_files_agree(tmp_path):
    report = _report(passed=True)
    assert report["format"] == FORMAT and report["passed"] is True
    assert report["config"] == ExportConfig().to_json() and report["split_seed"] == 7
    assert report["resize_study"]["finding"] == "Resize study not run (--no-resize-study)."
    json_path, md_path = write_report(report, tmp_path / "out")
    assert json.loads(json_path.read_text()) == report
    markdown = md_path.read_text()
    assert "**PASSED**" in markdown and "| int8 | 2.50 MB | 4.2 ms |" in markdown
    assert "**validation_folder** (4 images: the whole validation folder" in markdown
    assert "Keras 100.00% (4/4; 51.0-100.0), TFLite 100.00% (4/4; 51.0-100.0)" in markdown


def test_a_failed_gate_says_so_in_every_form(tmp_path):
    report = _report(passed=False)
    assert report["passed"] is False
    (line,) = console_lines(report)
    assert line.startswith("int8: test split 0.00% (0/2; 0.0-65.8) vs Keras 100.00% (2/2; "
                           "34.2-100.0) (-100.00 points")
    assert line.endswith("FAILED: top-1 agreement on validation folder")
    _, md_path = write_report(report, Path(tmp_path))
    assert "**FAILED**" in md_path.read_text()


def test_console_line_of_a_passing_model():
    (line,) = console_lines(_report(passed=True))
    assert "agreement 100.00% on 4 images, 2.50 MB, 4.2 ms: passed" in line


@pytest.mark.parametrize("gained,lost,n", [(0, 0, 0), (3, 0, 10)])
def test_paired_interval_is_centred_on_the_difference(gained, lost, n):
    lo, hi = paired_interval_points(gained, lost, n)
    centre = 100 * (gained - lost) / n if n else 0.0
    assert lo <= centre <= hi and (lo + hi) / 2 == pytest.approx(centre)
