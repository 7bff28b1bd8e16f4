"""model5, beyond the study: a linear head fit to convergence on frozen-base features, its one
setting chosen by cross-validation inside the training images, and adding it to an earlier run.
Random MobileNetV2 weights and 32x32 images keep it fast."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.test_study import IMAGE_SIZE, STUDY_SHA256, tiny_split
from train.config import TrainConfig


def _blobs(n=200, d=6, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    features = rng.standard_normal((n, d)).astype(np.float32) + labels[:, None] * 1.5
    return features, labels


def test_the_head_reaches_the_optimum_where_the_gradient_vanishes():
    from train.feature_head import fit_head

    features, labels = _blobs()
    l2 = 0.01
    head = fit_head(features, labels, 2, l2)
    assert head.iterations < 2000
    # At the optimum of mean CE + l2/2 |W|^2 (standardised features) the gradient is zero.
    mean, std = features.mean(0), features.std(0) + 1e-6
    xs = (features - mean) / std
    w_std = head.weights * std[:, None]
    probs = head.probabilities(features)
    target = np.eye(2)[labels]
    grad = xs.T @ (probs - target) / len(labels) + l2 * w_std
    assert np.abs(grad).max() < 1e-3
    assert (probs.argmax(1) == labels).mean() > 0.8


def test_a_larger_penalty_shrinks_the_weights():
    from train.feature_head import fit_head

    features, labels = _blobs()
    small, large = fit_head(features, labels, 2, 1e-3), fit_head(features, labels, 2, 1.0)
    assert np.linalg.norm(large.weights) < np.linalg.norm(small.weights)


def test_folds_are_balanced_seeded_and_stored_in_the_split(tmp_path):
    from train.feature_head import make_folds
    from train.split import Split

    labels = [0] * 10 + [1] * 10
    folds = make_folds(labels, 5, seed=1)
    assert folds == make_folds(labels, 5, seed=1) and folds != make_folds(labels, 5, seed=2)
    for fold in range(5):
        members = [label for label, f in zip(labels, folds, strict=True) if f == fold]
        assert sorted(members) == [0, 0, 1, 1]
    split = tiny_split(tmp_path / "data").with_train_folds(2)
    split.save(tmp_path / "split.json")
    again = Split.load(tmp_path / "split.json")
    assert again.folds["train"] == split.folds["train"]
    assert again.with_train_folds(3) is again  # stored folds are never redrawn


def test_cross_validation_scores_each_image_with_a_head_that_never_saw_it():
    from train.feature_head import cross_validate, make_folds

    features, labels = _blobs(n=100)
    folds = make_folds(labels, 5, seed=0)
    # An image whose own features are poisoned: a head that had seen it would learn it.
    cv = cross_validate(features, features, labels, folds, 2, grid=(0.01, 0.1))
    assert set(cv.accuracy) == {0.01, 0.1}
    best = max(cv.accuracy.values(), key=lambda a: a.correct)
    assert cv.accuracy[cv.chosen].correct == best.correct
    assert all(a.n == 100 and a.chose == ("L2 penalty",) for a in cv.accuracy.values())
    tie = cross_validate(features[:0], features[:0], labels[:0], (), 2, grid=(0.01, 0.1))
    assert tie.chosen == 0.1  # a tie goes to the larger penalty


@pytest.fixture(scope="module")
def run_with_model5(tmp_path_factory):
    """model4 and model5 in one run on generated images."""
    from train.models import build_base
    from train.study import run_study

    root = tmp_path_factory.mktemp("m5")
    weights = root / "random_mnv2.weights.h5"
    build_base(IMAGE_SIZE, None).save_weights(weights)
    config = TrainConfig(out=root / "out", epochs=1, image_size=IMAGE_SIZE, batch_size=4,
                         base_weights=str(weights), models=(4, 5), seeds=(11,))
    lines: list[str] = []
    split = tiny_split(root / "data", sha256=STUDY_SHA256)
    split.save(config.split_path)
    metrics = run_study(config, split, echo=lines.append)
    return config, metrics, lines


def test_model5_records_what_chose_it_and_its_intervals(run_with_model5):
    config, metrics, lines = run_with_model5
    m5 = metrics["models"]["model5"]
    assert m5["part_of_study"] is False
    assert m5["chosen_on"] == {"train": ["L2 penalty (cross-validation inside the training "
                                         "images)"]}
    assert metrics["models"]["model4"]["chosen_on"] == {}
    assert m5["evidence"]["validation"]["n"] == 6 and m5["evidence"]["test"]["n"] == 4
    assert m5["evidence"]["test"]["chose"] == []
    lo, hi = m5["evidence"]["test"]["ci95"]
    assert 0 <= lo <= m5["test_accuracy"] <= hi <= 1
    assert m5["params"]["trainable"] == 1280 * 2 + 2
    assert set(m5["paired"]) == {"validation", "test"}
    assert m5["paired"]["test"]["test"] == "McNemar exact, two-sided"
    assert metrics["best_model"]["name"] == "model4"
    assert any(line.startswith("model5: L2") and "<- chosen" in line for line in lines)
    assert (config.out / "model5.keras").is_file()
    from train.split import Split

    assert len(Split.load(config.split_path).folds["train"]) == 8  # on record beside model5


def test_saved_model5_gives_the_recorded_accuracy(run_with_model5):
    import keras

    from train.dataset import load_arrays

    config, metrics, _ = run_with_model5
    model = keras.models.load_model(config.out / "model5.keras")
    images, labels = load_arrays(tiny_split(config.out.parent / "data"), "validation",
                                 IMAGE_SIZE)
    predicted = model.predict(images.astype(np.float32), verbose=0).argmax(1)
    assert (predicted == labels).mean() == metrics["models"]["model5"]["final_val_accuracy"]


def test_report_keeps_model5_out_of_the_study_and_gives_intervals(run_with_model5):
    config, metrics, _ = run_with_model5
    report = (config.out / "report.md").read_text()
    study_part, beyond = report.split("## Beyond the study: model5 (not part of the study)")
    assert "| model5 |" not in study_part and "### model5" not in study_part
    assert "95% CI" in beyond and "which chose nothing" in beyond
    assert "McNemar exact p =" in beyond
    assert "chosen by 5-fold cross-validation" in beyond
    assert "95% interval (Wilson)" in study_part


def test_adding_model5_to_an_earlier_run_keeps_its_entries(run_with_model5, tmp_path):
    from train.extend import add_model5

    earlier, metrics, _ = run_with_model5
    out = tmp_path / "run"
    shutil.copytree(earlier.out, out)
    (out / "model5.keras").unlink()
    before = json.loads((out / "metrics.json").read_text())
    config = TrainConfig(out=out, models=(5,), base_weights=earlier.base_weights,
                         data_dir=earlier.out.parent / "data")
    lines: list[str] = []
    added = add_model5(config, echo=lines.append)
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk == added and list(on_disk["models"]) == ["model4", "model5"]
    assert on_disk["models"]["model4"] == before["models"]["model4"]
    m5 = on_disk["models"]["model5"]
    assert m5["final_val_accuracy"] == before["models"]["model5"]["final_val_accuracy"]
    assert m5["added"]["command"].startswith("python -m train --models 5")
    assert (out / "split.json").read_text() == (earlier.out / "split.json").read_text()
    assert "Added to this run later" in (out / "report.md").read_text()


def test_adding_model5_to_nothing_says_what_is_missing(tmp_path):
    from train.cli import app

    (tmp_path / "out").mkdir()
    result = CliRunner().invoke(app, ["--models", "5", "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "has no split.json, metrics.json" in result.output
    assert "`make train MODELS=4,5" in result.output
    assert "Traceback" not in result.output


def test_nested_assessment_never_lets_an_image_choose_for_itself():
    from train.assess import nested_predictions
    from train.feature_head import make_folds

    features, labels = _blobs(n=60)
    folds = make_folds(labels, 3, seed=0)
    lines: list[str] = []
    predicted, chosen = nested_predictions(features, features, labels, folds, 2, lines.append)
    assert len(chosen) == 3 and len(lines) == 3 and predicted.shape == (60,)
    # Poison one fold's labels: a head that saw them would get them "right"; out of fold the
    # other folds' heads keep answering by the features.
    flipped = labels.copy()
    flipped[np.asarray(folds) == 0] ^= 1
    poisoned, _ = nested_predictions(features, features, flipped, folds, 2, lambda _: None)
    held = np.asarray(folds) == 0
    assert (poisoned[held] == flipped[held]).mean() < 0.5


def test_make_assess_writes_every_image_with_its_interval(run_with_model5, tmp_path):
    from train.assess import assess
    from train.split import Split

    config, _, _ = run_with_model5
    split = Split.load(config.split_path)
    lines: list[str] = []
    result = assess(split, Path(config.base_weights), tmp_path, folds=3, echo=lines.append)
    n = sum(len(split.splits[name]) for name in ("train", "validation", "test"))
    assert result["accuracy"]["n"] == n == len(result["fold_of"])
    assert result["accuracy"]["chose"] == [] and len(result["chosen_l2_per_fold"]) == 3
    assert (tmp_path / "assess.json").is_file()
    assert any("model5's recipe:" in line and "95% CI" in line for line in lines)
