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
from train.report import STUDY, commentary, overfitting_verdict, versus_study
from train.split import Split

EPOCHS = 2
LN2 = 0.6931471805599453
IMAGE_SIZE = (32, 32)


STUDY_SHA256 = "d4eeb21657f12f096e1281b69d6ef8848436731340d42a8d91c572325e18ffd2"


def tiny_split(root: Path, classes=("cats", "dogs"), seed=3, sha256=None) -> Split:
    """Generated images; `sha256=STUDY_SHA256` makes the run count as the study's data."""
    make_dataset(root, classes=classes, n_train=4, n_val=5)
    items = {"train": [], "validation": [], "test": []}
    for label, name in enumerate(classes):
        items["train"] += [(f"train/{name}/{name}.{i}.jpg", label) for i in range(4)]
        items["validation"] += [(f"validation/{name}/{name}.{i}.jpg", label) for i in range(3)]
        items["test"] += [(f"validation/{name}/{name}.{i}.jpg", label) for i in range(3, 5)]
    return Split(
        seed=seed, batch_size=4, image_size=IMAGE_SIZE, class_names=tuple(classes),
        data_root=root, data_source=str(root), dataset_sha256=sha256,
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
    metrics = run_study(config, tiny_split(root / "data", sha256=STUDY_SHA256), echo=lines.append)
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
    assert {"python", "tensorflow", "keras", "numpy"} <= on_disk["versions"].keys()
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


def test_model4_validation_on_base_features_is_keras_validation(tiny_run):
    """The last epoch's val_loss/val_accuracy equal a plain evaluate of the saved model4."""
    import keras

    from train.dataset import load_arrays, to_dataset

    out, metrics, _ = tiny_run
    model = keras.models.load_model(out / "model4.keras")
    images, labels = load_arrays(tiny_split(out.parent / "data"), "validation", IMAGE_SIZE)
    plain = model.evaluate(to_dataset(images, labels, 4, shuffle=False, seed=0), verbose=0,
                           return_dict=True)
    history = metrics["models"]["model4"]["history"]
    assert history["val_loss"][-1] == pytest.approx(plain["loss"], rel=1e-5)
    assert history["val_accuracy"][-1] == plain["accuracy"]


def test_progress_one_line_per_epoch_per_model_and_a_summary(tiny_run):
    _, metrics, lines = tiny_run
    for n in (1, 2, 3, 4):
        epochs = [line for line in lines if line.startswith(f"model{n} epoch")]
        assert len(epochs) == EPOCHS
        assert re.search(r"loss \d\.\d{4}  accuracy .* val_accuracy \d\.\d{4} .*s", epochs[0])
    summary = lines[-1].splitlines()
    assert summary[0].split()[:4] == ["model", "seed", "val", "best"]
    assert [row.split()[0] for row in summary[2:6]] == ["model1", "model2", "model3", "model4"]


def test_report_embeds_figures_and_tells_the_numbers(tiny_run):
    out, metrics, _ = tiny_run
    report = (out / "report.md").read_text()
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report):
        assert (out / image).is_file(), image
    assert len(re.findall(r"!\[", report)) == 4 + 4
    m4 = metrics["models"]["model4"]
    val = m4["evidence"]["validation"]
    assert f"| model4 | 11 | {100 * m4['final_val_accuracy']:.2f}% ({val['correct']}/6; " in report
    assert "82,114" in report and "38,492" in report
    assert metrics["base_weights"]["sha256"] in report
    best = metrics["best_model"]["name"]
    assert f"{best}, chosen by validation accuracy (so the validation split now backs no " in report
    assert val["chose"] == ["the study's best model"] and m4["evidence"]["test"]["chose"] == []
    assert "on the test split, which chose nothing." in report.split("## Best model")[1]


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

    metrics = {"exploration": {"baseline": {"accuracy": {"validation": 0.5}}},
               "study_reported": STUDY}
    rising = commentary("model1", model([0.5, 0.55, 0.6, 0.62, 0.66, 0.69], [0.6] * 5 + [0.97]),
                        metrics)
    flat = commentary("model1", model([0.5] * 6, [0.51] * 6), metrics)
    assert "in line with the study's 67-69%" in rising[0] and "overfits" in rising[1]
    assert any("still rising" in line for line in rising)
    assert "17.0 points below" in flat[0] and "no overfitting" in flat[1]
    assert any("levelled off" in line for line in flat)
    assert any("majority-class baseline" in line for line in flat)


def _one_model_config(tmp_path, **kw) -> TrainConfig:
    defaults = dict(out=tmp_path / "out", epochs=1, image_size=IMAGE_SIZE, batch_size=8,
                    models=(1,), seed=11, base_weights=str(tmp_path / "never-read.h5"))
    return TrainConfig(**{**defaults, **kw})


def test_a_collapsed_model_is_called_so_and_retried(tmp_path):
    """A learning rate of 1e6 blows model1's weights up in one step: a sure collapse."""
    from train.study import run_study

    config = _one_model_config(tmp_path, epochs=6, learning_rate=1e6, collapse_retries=1)
    lines: list[str] = []
    run_study(config, tiny_split(tmp_path / "data", sha256=STUDY_SHA256), echo=lines.append)
    on_disk = json.loads((config.out / "metrics.json").read_text())
    m = on_disk["models"]["model1"]
    assert m["status"] == "collapsed" and m["overfitting"] == "collapsed"
    assert "NaN" in m["collapse"]["cause"]
    assert [(a["seed"], a["stopped"]) for a in m["attempts"]] == [
        (11, "collapsed"), (12, "collapsed")]
    assert all(a["epochs_run"] < 6 and a["why"].startswith("collapsed at epoch")
               for a in m["attempts"])
    assert m["seeds"]["trained"] == 0 and m["seeds"]["collapses"] == 2
    assert m["seeds"]["val_accuracy"] is None
    report = (config.out / "report.md").read_text()
    assert "**Collapsed**" in report and "| **collapsed** |" in report
    assert "in line with the study" not in report
    assert "| model1 | 11 | 12 | 2 |" in report
    assert any("seed 11: collapsed" in line and "retrying with seed 12" in line
               for line in lines)
    assert "COLLAPSED: the loss became NaN" in lines[-1]
    assert "--collapse-retries 1 " in report and "Learning rate 1e+06" in report
    assert "None: every model's runs collapsed" in report


def test_the_reported_run_is_the_retry_that_trained(tmp_path, monkeypatch):
    """Whatever made the first attempt collapse, the numbers come from the run that trained."""
    import train.training
    from train.collapse import Collapse
    from train.study import run_study

    fired = []

    def collapse_first_attempt_once(name, history, *args, **kwargs):
        if fired or len(history["loss"]) < 2:
            return None
        fired.append(name)
        return Collapse(2, 0.5, LN2, LN2, 0.5, 0.0, 64, 64, "test: forced")

    monkeypatch.setattr(train.training, "check", collapse_first_attempt_once)
    config = _one_model_config(tmp_path, epochs=3)
    metrics = run_study(config, tiny_split(tmp_path / "data"), echo=lambda _: None)
    m = metrics["models"]["model1"]
    assert [(a["seed"], a["epochs_run"], a["stopped"]) for a in m["attempts"]] == [
        (11, 2, "collapsed"), (12, 3, "completed")]
    assert m["seed"] == 12 and m["status"] == "completed" and m["collapse"] is None
    assert m["final_val_accuracy"] == m["attempts"][1]["final_val_accuracy"]
    assert json.loads((config.out / "model1_history.json").read_text())["epochs"] == [1, 2, 3]
    report = (config.out / "report.md").read_text()
    assert "## Attempts" in report and "collapsed attempt(s) with seed 11" in report



def test_several_seeds_give_mean_range_and_collapse_count(tmp_path):
    from train.study import run_study

    config = _one_model_config(tmp_path, seeds=(5, 6, 7))
    lines: list[str] = []
    metrics = run_study(config, tiny_split(tmp_path / "data", sha256=STUDY_SHA256),
                        echo=lines.append)
    m = metrics["models"]["model1"]
    s, finals = m["seeds"], [a["final_val_accuracy"] for a in m["attempts"]]
    assert [a["seed"] for a in m["attempts"]] == [5, 6, 7]
    assert s["requested"] == [5, 6, 7] and s["trained"] == 3 and s["collapses"] == 0
    assert s["val_accuracy"]["mean"] == pytest.approx(sum(finals) / 3)
    assert (s["val_accuracy"]["min"], s["val_accuracy"]["max"]) == (min(finals), max(finals))
    assert m["seed"] == 5 and m["final_val_accuracy"] == finals[0]
    report = (config.out / "report.md").read_text()
    assert "## Across seeds" in report and "| model1 | 5, 6, 7 | 3/3 | 0 |" in report
    assert "67-69%" in report.split("## Across seeds")[1]
    assert "model1 over seeds 5,6,7: val mean" in lines[-1]
    assert metrics["run"]["seeds"] == [5, 6, 7]


def test_spread_plot_draws_a_band_per_curve(tmp_path):
    from matplotlib.collections import PolyCollection

    from train.plots import _curve, _pyplot

    fig, ax = _pyplot().subplots()
    runs = [{"val_accuracy": [0.5, 0.6]}, {"val_accuracy": [0.55, 0.7]}]
    _curve(ax, runs, "val_accuracy", "validation")
    assert len(ax.collections) == 1 and isinstance(ax.collections[0], PolyCollection)
    assert "mean of 2 seeds" in ax.lines[0].get_label()
    assert list(ax.lines[0].get_ydata()) == pytest.approx([0.525, 0.65])


def test_a_users_dataset_gets_a_report_without_the_study(tmp_path):
    from train.study import run_study

    config = _one_model_config(tmp_path)
    lines: list[str] = []
    metrics = run_study(config, tiny_split(tmp_path / "data", classes=("a", "b", "c")),
                        echo=lines.append)
    report = (config.out / "report.md").read_text()
    assert metrics["study_reported"] is None and not metrics["dataset"]["is_study"]
    assert "study val acc" not in report and "the study's 67" not in report
    assert report.startswith("# The study's models on another dataset (3 classes: a, b, c)")
    assert "study's numbers are not shown" in report
    summary = lines[-1].splitlines()
    assert "study" not in summary[0] and "67-69%" not in lines[-1]
    assert "the study's numbers are not shown" in lines[-1]


def test_machine_and_reproducibility_are_recorded(tiny_run):
    out, metrics, _ = tiny_run
    cpu, runtime = metrics["cpu"], metrics["runtime"]
    assert cpu["model"] and isinstance(cpu["avx2"], bool) and isinstance(cpu["avx512"], list)
    assert {"intra_op_threads", "inter_op_threads", "OMP_NUM_THREADS",
            "TF_ENABLE_ONEDNN_OPTS", "onednn"} <= runtime.keys()
    assert metrics["run"]["seeds"] == [11] and metrics["run"]["collapse_retries"] == 2
    report = (out / "report.md").read_text()
    assert "## Reproducibility" in report and "Reproducible means" in report
    assert f"- CPU: {cpu['model']}" in report
    assert metrics["dataset"]["is_study"] and "## Attempts" not in report
