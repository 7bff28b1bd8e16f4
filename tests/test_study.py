"""A tiny end-to-end study (generated images, random base weights) and its parts."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.imagegen import make_dataset
from train.config import TrainConfig
from train.errors import PawliteError
from train.explore import baseline, label_counts, sample_grid
from train.report import commentary, overfitting_verdict, versus_study
from train.split import Split

EPOCHS = 2
IMAGE_SIZE = (32, 32)


def tiny_split(root: Path, classes=("cats", "dogs"), seed=3) -> Split:
    make_dataset(root, classes=classes, n_train=4, n_val=5)
    items = {"train": [], "validation": [], "test": []}
    for label, name in enumerate(classes):
        items["train"] += [(f"train/{name}/{name}.{i}.jpg", label) for i in range(4)]
        items["validation"] += [(f"validation/{name}/{name}.{i}.jpg", label) for i in range(3)]
        items["test"] += [(f"validation/{name}/{name}.{i}.jpg", label) for i in range(3, 5)]
    return Split(
        seed=seed, batch_size=4, image_size=IMAGE_SIZE, class_names=tuple(classes),
        data_root=root, data_source=str(root), dataset_sha256=None,
        splits={k: tuple(v) for k, v in items.items()},
    )


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory) -> Path:
    from train.models import build_base

    path = tmp_path_factory.mktemp("weights") / "random_mnv2.weights.h5"
    build_base(IMAGE_SIZE, None).save_weights(path)
    return path


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, random_weights):
    from train.study import run_study

    root = tmp_path_factory.mktemp("tiny")
    config = TrainConfig(
        out=root / "out", epochs=EPOCHS, image_size=IMAGE_SIZE, batch_size=4,
        base_weights=str(random_weights), seed=11,
    )
    lines: list[str] = []
    metrics = run_study(config, tiny_split(root / "data"), echo=lines.append)
    return config.out, metrics, lines


def test_tiny_run_writes_every_artifact(tiny_run):
    out, _, _ = tiny_run
    expected = ["sample_grid.png", "augment_flip.png", "augment_rotation.png", "comparison.png",
                "metrics.json", "report.md"]
    for n in (1, 2, 3, 4):
        expected += [f"model{n}.keras", f"model{n}_history.json", f"model{n}_accuracy.png"]
    missing = [name for name in expected if not (out / name).is_file()]
    assert missing == []
    for png in out.glob("*.png"):
        assert Image.open(png).size[0] > 100


def test_metrics_hold_every_figure_of_the_issue(tiny_run, random_weights):
    out, metrics, _ = tiny_run
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk["models"].keys() == {"model1", "model2", "model3", "model4"}
    assert on_disk["exploration"]["label_counts"] == {
        "train": {"cats": 4, "dogs": 4}, "validation": {"cats": 3, "dogs": 3},
        "test": {"cats": 2, "dogs": 2},
    }
    assert on_disk["exploration"]["baseline"]["accuracy"]["test"] == 0.5
    for m in on_disk["models"].values():
        assert len(m["history"]["val_accuracy"]) == EPOCHS
        assert m["final_val_accuracy"] == m["history"]["val_accuracy"][-1]
        assert m["best_val_accuracy"] == max(m["history"]["val_accuracy"])
        assert m["test_accuracy"] in (0.0, 0.25, 0.5, 0.75, 1.0)
        assert m["train_val_gap"] == pytest.approx(
            m["final_train_accuracy"] - m["final_val_accuracy"])
        assert m["overfitting"] == overfitting_verdict(m["train_val_gap"])
        assert m["wall_seconds"] >= m["train_seconds"] > 0
        assert m["params"]["trainable"] > 0
        assert json.loads((out / m["files"]["history"]).read_text()) == m["history"]
    assert on_disk["models"]["model4"]["params"]["trainable"] == (1280 * 64 + 64) + (64 * 2 + 2)
    assert on_disk["base_weights"]["sha256"] == hashlib.sha256(
        random_weights.read_bytes()).hexdigest()
    assert on_disk["study_reported"]["model4"]["test_accuracy"] == 0.9896
    assert {"tensorflow", "keras", "numpy"} <= on_disk["versions"].keys()
    assert on_disk["runtime"]["cpu_count"] >= 1
    assert on_disk["run"]["seed"] == 11
    assert on_disk["best_model"]["name"] in on_disk["models"]
    assert metrics == on_disk


def test_saved_models_reload_and_match_their_test_accuracy(tiny_run):
    import keras

    from train.dataset import load_arrays

    out, metrics, _ = tiny_run
    model = keras.models.load_model(out / "model1.keras")
    split = tiny_split(out.parent / "data")
    images, labels = load_arrays(split, "test", IMAGE_SIZE)
    predicted = model.predict(images.astype("float32"), verbose=0).argmax(axis=1)
    assert np.mean(predicted == labels) == metrics["models"]["model1"]["test_accuracy"]


def test_progress_one_line_per_epoch_per_model_and_a_summary(tiny_run):
    _, metrics, lines = tiny_run
    for n in (1, 2, 3, 4):
        epochs = [line for line in lines if line.startswith(f"model{n} epoch")]
        assert len(epochs) == EPOCHS
        assert re.search(r"loss \d\.\d{4}  accuracy .* val_accuracy \d\.\d{4} .*s", epochs[0])
    summary = lines[-1].splitlines()
    assert summary[0].split()[:2] == ["model", "val"]
    assert [row.split()[0] for row in summary[2:6]] == ["model1", "model2", "model3", "model4"]


def test_report_embeds_figures_and_tells_the_numbers(tiny_run):
    out, metrics, _ = tiny_run
    report = (out / "report.md").read_text()
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report):
        assert (out / image).is_file(), image
    assert len(re.findall(r"!\[", report)) == 4 + 4
    m4 = metrics["models"]["model4"]
    assert f"| model4 | {100 * m4['final_val_accuracy']:.1f}%" in report
    assert "82,114" in report and "38,492" in report
    assert metrics["base_weights"]["sha256"] in report
    best = metrics["best_model"]["name"]
    assert f"{best} (chosen by validation accuracy)" in report


def test_only_selected_models_are_trained(tmp_path):
    from train.study import run_study

    config = TrainConfig(out=tmp_path / "out", epochs=1, image_size=IMAGE_SIZE, batch_size=4,
                         base_weights=str(tmp_path / "never-read.h5"), models=(1,))
    metrics = run_study(config, tiny_split(tmp_path / "data"), echo=lambda _: None)
    assert list(metrics["models"]) == ["model1"] and metrics["base_weights"] is None
    assert not (config.out / "model2.keras").exists()
    assert "not used" in (config.out / "report.md").read_text()


def test_missing_base_weights_stop_the_run_before_any_training(tmp_path):
    from train.study import run_study

    config = TrainConfig(out=tmp_path / "out", epochs=1, image_size=IMAGE_SIZE,
                         base_weights=str(tmp_path / "missing.h5"))
    with pytest.raises(PawliteError, match="--base-weights"):
        run_study(config, tiny_split(tmp_path / "data"), echo=lambda _: None)
    assert not list(config.out.glob("*.keras"))


def test_label_counts_and_baseline_follow_the_training_majority(tmp_path):
    split = tiny_split(tmp_path, classes=("cats", "dogs", "birds"))
    items = dict(split.splits)
    items["train"] = items["train"] + (("train/dogs/dogs.0.jpg", 1),)
    skewed = Split(**{**split.__dict__, "splits": items})
    counts = label_counts(skewed)
    assert counts["train"] == {"cats": 4, "dogs": 5, "birds": 4}
    result = baseline(counts)
    assert result["majority_class"] == "dogs"
    assert result["accuracy"]["train"] == pytest.approx(5 / 13)
    assert result["accuracy"]["test"] == pytest.approx(1 / 3)


def test_sample_grid_has_one_row_per_class(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (12, 16, 16, 3), dtype=np.uint8)
    two = sample_grid(images, np.repeat([0, 1], 6), ("a", "b"), tmp_path / "two.png", seed=1)
    three = sample_grid(images, np.repeat([0, 1, 2], 4), ("a", "b", "c"), tmp_path / "3.png", 1)
    (w2, h2), (w3, h3) = Image.open(two).size, Image.open(three).size
    assert w2 == w3 and h3 == pytest.approx(h2 * 3 / 2, rel=0.02)


def test_verdict_and_comparison_come_from_the_numbers():
    assert overfitting_verdict(0.28) == "overfits"
    assert overfitting_verdict(0.05) == "mild overfitting"
    assert overfitting_verdict(0.01) == "no overfitting"
    assert overfitting_verdict(-0.08).startswith("no overfitting (validation above")
    assert versus_study(0.68, [0.67, 0.69]) == "in line with the study's 67-69%"
    assert versus_study(0.60, [0.67, 0.69]) == "7.0 points below the study's 67-69%"
    assert versus_study(0.995, [0.97, 0.97]) == "2.5 points above the study's ~97%"


def test_commentary_changes_with_the_results():
    def model(val, train):
        history = {"val_accuracy": val, "accuracy": train}
        return {
            "history": history, "final_val_accuracy": val[-1], "best_val_accuracy": max(val),
            "best_epoch": val.index(max(val)) + 1, "final_train_accuracy": train[-1],
            "train_val_gap": train[-1] - val[-1],
            "overfitting": overfitting_verdict(train[-1] - val[-1]),
            "test_accuracy": 0.7, "params": {"trainable": 1},
        }

    metrics = {"exploration": {"baseline": {"accuracy": {"validation": 0.5}}}}
    rising = commentary("model1", model([0.5, 0.55, 0.6, 0.62, 0.66, 0.69], [0.6] * 5 + [0.97]),
                        metrics)
    flat = commentary("model1", model([0.5] * 6, [0.51] * 6), metrics)
    assert "in line with the study's 67-69%" in rising[0] and "overfits" in rising[1]
    assert any("still rising" in line for line in rising)
    assert "17.0 points below" in flat[0] and "no overfitting" in flat[1]
    assert any("levelled off" in line for line in flat)
    assert any("majority-class baseline" in line for line in flat)
