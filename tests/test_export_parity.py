"""The parity gate: passes a faithful export, fails a broken one, and says why."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from export import metadata as md
from export.cli import GATE_FAILED, app
from tests.export_helpers import IMAGE_SIZE, make_tiny_artifacts


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_artifacts(tmp_path_factory.mktemp("parity"))


def _args(config, *extra: str) -> list[str]:
    return ["--model", str(config.model), "--split", str(config.split), "--out",
            str(config.out), "--latency-runs", "2", *extra]


def _swapped_labels_model(config, path):
    """The float32 model with its class names listed in the wrong order."""
    from export.converter import convert
    from export.loaders import load_keras_model

    bare = convert(load_keras_model(config.model), "float32", IMAGE_SIZE)
    names = ["dogs", "cats"]
    spec = md.pawlite_spec(names, IMAGE_SIZE, "tf-bilinear", "float32", {}, "test")
    meta = md.build_model_metadata("broken", "labels swapped", "0", IMAGE_SIZE)
    path.write_bytes(md.populate(bare, meta, md.associated_files(names, spec)))
    return path


def test_export_then_parity_passes_and_writes_both_reports(tiny):
    result = CliRunner().invoke(app, _args(tiny, "--quantization", "float32"))
    assert result.exit_code == 0, result.output
    assert "float32: test" in result.output and "passed" in result.output
    report_dir = tiny.out / "model4_parity"
    assert f"report: {report_dir / 'parity.md'}" in result.output
    report = json.loads((report_dir / "parity.json").read_text())
    assert report["passed"] is True
    assert report["model_choice"] == {"model": "model4", "reason": "named by the user (model4)",
                                      "chosen_on": None}
    (row,) = report["variants"]
    assert row["variant"] == "float32" and row["resize"] == "tf-bilinear"
    assert row["from_this_keras_model"] is True
    assert row["size_bytes"] == (tiny.out / "model4_float32.tflite").stat().st_size
    test, folder = row["sets"]["test"], row["sets"]["validation_folder"]
    assert (test["n"], folder["n"]) == (4, 20)
    assert folder["agreement"] == 1.0 and folder["max_prob_diff"] < 1e-3
    assert sum(map(sum, folder["confusion"]["tflite"])) == 20
    study = {(r["variant"], r["resize"]) for r in report["resize_study"]["rows"]}
    assert study == {("float32", "tf-bilinear"), ("float32", "pillow-bilinear")}
    markdown = (report_dir / "parity.md").read_text()
    assert "**PASSED**" in markdown and "Where the gap comes from" in markdown
    for name in row["figures"]["files"].values():
        assert name is None or f"]({name})" in markdown and (report_dir / name).is_file()


def test_parity_fails_on_a_model_with_swapped_labels(tiny, tmp_path):
    broken = _swapped_labels_model(tiny, tmp_path / "broken.tflite")
    args = ["parity", "--tflite", str(broken), "--no-resize-study", "--model", str(tiny.model),
            "--split", str(tiny.split), "--out", str(tmp_path), "--latency-runs", "2"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == GATE_FAILED, result.output
    # The tiny model is wrong on every image, so the swap makes TFLite *more* accurate: the
    # one-sided accuracy rules let that pass, and the agreement rule is what catches the swap.
    assert "+100.00 points" in result.output
    assert re.search(r"FAILED: (.*; )?top-1 (agreement|answers changed) on validation folder",
                     result.output)
    report = json.loads((tmp_path / "model4_parity" / "parity.json").read_text())
    assert report["passed"] is False
    assert report["variants"][0]["sets"]["validation_folder"]["agreement"] == 0.0
    assert report["variants"][0]["from_this_keras_model"] is False
    assert "**FAILED**" in (tmp_path / "model4_parity" / "parity.md").read_text()


def test_parity_before_export_is_a_user_error(tiny, tmp_path):
    args = ["parity", "--model", str(tiny.model), "--split", str(tiny.split),
            "--out", str(tmp_path), "--quantization", "dynamic"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "model4_dynamic.tflite not found: run `python -m export`" in result.output
    assert "Traceback" not in result.output


def test_missing_keras_model_is_a_user_error(tiny, tmp_path):
    result = CliRunner().invoke(app, ["--model", str(tmp_path / "none.keras"),
                                      "--split", str(tiny.split), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "none.keras not found (" in result.output and "Train it first" in result.output
    assert "Traceback" not in result.output


def test_missing_split_is_a_user_error(tiny, tmp_path):
    result = CliRunner().invoke(app, ["--model", str(tiny.model),
                                      "--split", str(tmp_path / "split.json"),
                                      "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "split.json not found" in result.output and "Traceback" not in result.output


def test_help_lists_the_parity_command_and_the_variants():
    runner = CliRunner(env={"COLUMNS": "200"})
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "Variant: int8 | float16 | dynamic | float32." in result.output
    assert re.search(r"parity +Compare Keras and the exported .tflite", result.output)
    assert re.search(r"describe +Write standard TFLite Metadata", result.output)
    result = runner.invoke(app, ["parity", "--help"])
    assert result.exit_code == 0 and "--tflite" in result.output


def _sets(test_diff, test_interval, folder_diff, agreement=0.99, unsure=(0, 0)):
    """Gate inputs: `agreement` on the confident images; `unsure` = (changed, n) on the rest."""
    from types import SimpleNamespace

    from export.report import flips_beyond_coin_tosses

    changed, n = unsure
    split = {"level": 0.8, "confident": {"agreement": agreement},
             "unsure": {"n": n, "disagreements": changed,
                        "agreement": 1 - changed / n if n else 1.0,
                        "p_beyond_coin_tosses": flips_beyond_coin_tosses(changed, n)}}
    return {"test": SimpleNamespace(accuracy_diff_points=test_diff,
                                    accuracy_diff_95ci_points=list(test_interval)),
            "validation_folder": SimpleNamespace(accuracy_diff_points=folder_diff,
                                                 by_confidence=split)}


def _passed(sets):
    from export.parity import gate_checks

    return [c.passed for c in gate_checks(sets, 1.0, 0.98)]


def test_gate_forgives_test_flips_within_chance_but_not_real_losses():
    # 2 of 192 test images lost, 0 gained: -1.04 points, interval -2.48..+0.39 (chance).
    assert _passed(_sets(-1.04, (-2.48, 0.39), -0.3)) == [True, True, True, True]
    # 6 lost: interval entirely below zero, a real loss on the test split.
    assert _passed(_sets(-3.13, (-5.6, -0.6), -0.5)) == [False, True, True, True]
    # The limit holds on the 1,000 images whatever the test split says.
    assert _passed(_sets(-0.52, (-1.5, 0.5), -1.2)) == [True, False, True, True]
    assert _passed(_sets(0.0, (0.0, 0.0), 0.0, agreement=0.97)) == [True, True, False, True]


def test_gate_never_fails_a_model_for_being_better():
    # Gains beyond chance and beyond the limit, on both sets: no accuracy rule fails.
    assert _passed(_sets(+3.13, (0.6, 5.6), +1.5)) == [True, True, True, True]


def _ten_class_sets(test_lost: int, test_gained: int):
    """A weak 10-class model on 32 test and 320 validation-folder images; int8 changes the
    verdict of `test_gained` + `test_lost` test images (and of those images only)."""
    from export.report import compare

    names = [f"c{i}" for i in range(10)]
    labels = np.arange(320) % 10
    keras = np.full((320, 10), 0.05)
    keras[np.arange(320), (labels + (np.arange(320) % 3 == 0)) % 10] = 0.55  # 1/3 wrong
    tflite = keras.copy()
    wrong = np.flatnonzero(keras.argmax(1) != labels)
    right = np.flatnonzero(keras.argmax(1) == labels)
    test = slice(288, 320)
    gained = [i for i in wrong if i >= 288][:test_gained]
    lost = [i for i in right if i >= 288][:test_lost]
    for i in gained:
        tflite[i] = 0.05
        tflite[i, labels[i]] = 0.55
    for i in lost:
        tflite[i] = 0.05
        tflite[i, (labels[i] + 1) % 10] = 0.55
    return {"test": compare(keras[test], tflite[test], labels[test], names),
            "validation_folder": compare(keras, tflite, labels, names)}


def test_a_much_better_int8_model_passes():
    # 10 classes, int8 3 gained and 0 lost on 32 test images: +9.4 points.
    sets = _ten_class_sets(test_lost=0, test_gained=3)
    assert sets["test"].accuracy_diff_points == pytest.approx(9.375)
    assert sets["test"].changed_verdicts == {"tflite_right_keras_wrong": 3,
                                             "keras_right_tflite_wrong": 0}
    assert _passed(sets) == [True, True, True, True]


def test_a_clearly_worse_int8_model_fails_the_accuracy_rules():
    sets = _ten_class_sets(test_lost=6, test_gained=0)
    assert sets["test"].accuracy_diff_points == pytest.approx(-18.75)
    assert _passed(sets) == [False, False, True, True]


def _flipped_sets(keras, labels, flipped, n_test=32):
    """Gate inputs for Keras probabilities and a TFLite copy whose answer moves, on the
    `flipped` images, to a class that is wrong both before and after (no accuracy changes)."""
    from export.report import compare

    names = [f"c{i}" for i in range(keras.shape[1])]
    tflite = keras.copy()
    for i in flipped:
        before = keras[i].argmax()
        after = next(c for c in range(keras.shape[1]) if c not in (before, labels[i]))
        tflite[i, [before, after]] = tflite[i, [after, before]]
    test = slice(len(labels) - n_test, None)
    return {"test": compare(keras[test], tflite[test], labels[test], names),
            "validation_folder": compare(keras, tflite, labels, names)}


def _ten_classes(n=160, seed=0):
    labels = np.arange(n) % 10
    return labels, np.random.default_rng(seed).permutation(n)


def test_a_weak_ten_class_model_with_flips_on_unsure_images_passes():
    # 55% accurate: 60 images confident and right, the other 100 near ties (top two 0.30 and
    # 0.28), 28 of them right. int8 changes 8 answers, all unsure, all wrong before and after.
    labels, order = _ten_classes()
    keras = np.full((160, 10), 0.42 / 8)
    sure, unsure = order[:60], order[60:]
    keras[sure] = 0.1 / 9
    keras[sure, labels[sure]] = 0.9
    top = np.where(np.isin(unsure, unsure[:28]), labels[unsure], (labels[unsure] + 1) % 10)
    keras[unsure, top], keras[unsure, (top + 5) % 10] = 0.30, 0.28
    flipped = [i for i in unsure[28:] if keras[i].argmax() != labels[i]][:8]
    sets = _flipped_sets(keras, labels, flipped)
    folder = sets["validation_folder"]
    assert folder.keras.correct == 88 and folder.tflite.correct == 88
    assert folder.agreement == 0.95  # the flat rule (>= 98%) failed this model
    assert folder.by_confidence["confident"]["disagreements"] == 0
    assert folder.by_confidence["unsure"]["disagreements"] == 8
    assert _passed(sets) == [True, True, True, True]


def test_a_confident_model_with_the_same_flips_fails():
    # Every image at 0.95 (10 of them confidently wrong); int8 moves 8 answers, none of which
    # changes the accuracy, yet a confident answer that moves is a different model.
    labels, order = _ten_classes()
    keras = np.full((160, 10), 0.05 / 9)
    top = labels.copy()
    top[order[:10]] = (labels[order[:10]] + 1) % 10
    keras[np.arange(160), top] = 0.95
    sets = _flipped_sets(keras, labels, order[:8])
    assert sets["validation_folder"].agreement == 0.95
    assert sets["validation_folder"].tflite.correct == sets["validation_folder"].keras.correct
    assert _passed(sets) == [True, True, False, True]


def test_unsure_answers_moved_beyond_coin_tosses_fail():
    # Scrambled outputs on a model that is unsure everywhere: every answer changes.
    assert _passed(_sets(0.0, (0.0, 0.0), 0.0, agreement=1.0, unsure=(20, 20))) == [
        True, True, True, False]
    # Half or fewer changed is what near ties do; more than half, but few images: chance.
    assert _passed(_sets(0.0, (0.0, 0.0), 0.0, agreement=1.0, unsure=(10, 20)))[3]
    assert _passed(_sets(0.0, (0.0, 0.0), 0.0, agreement=1.0, unsure=(3, 4)))[3]
    assert not _passed(_sets(0.0, (0.0, 0.0), 0.0, agreement=1.0, unsure=(15, 20)))[3]


def test_a_failed_gate_and_a_usage_error_exit_differently(tmp_path):
    result = CliRunner().invoke(app, ["parity", "--latency-runs", "0"])
    assert result.exit_code == 2 != GATE_FAILED, result.output
