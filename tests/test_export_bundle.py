"""export.bundle: `make bundle` ships model4 unless another exported int8 model that passed its
gate is better beyond chance on images that chose nothing for either, and its report quotes the
test. Reports are made from generated probabilities; no TensorFlow."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

from edge.run.runrecord import sha256_of
from export.bundle import BUNDLED_NAME, BundleConfig, bundle
from export.calibration import reliability
from export.cli import app
from export.config import ExportConfig
from export.errors import ExportError
from export.report import Check, build_report, compare, write_report

NAMES = ("cats", "dogs")
N_VAL, N_TEST = 40, 40


def _export(artifacts: Path, model: str, wrong_on_validation=0, passed: bool = True,
            wrong_on_test=()) -> Path:
    """A fake export of `model`: its int8 file and its parity report with one figure, on 40
    validation then 40 test images; int8 is wrong on the first `wrong_on_validation`
    validation images (or those indices, when a collection) and on the `wrong_on_test` ones."""
    n = N_VAL + N_TEST
    labels = np.array([0, 1] * (n // 2))
    keras = np.where(labels[:, None] == np.arange(2), 0.9, 0.1)
    wrong = (range(wrong_on_validation) if isinstance(wrong_on_validation, int)
             else wrong_on_validation)
    int8 = keras.copy()
    for i in [*wrong, *(N_VAL + t for t in wrong_on_test)]:
        int8[i] = int8[i, ::-1]
    tflite = artifacts / f"{model}_int8.tflite"
    artifacts.mkdir(parents=True, exist_ok=True)
    tflite.write_bytes(f"{model} int8".encode())
    report_dir = artifacts / f"{model}_parity"
    report_dir.mkdir(parents=True)
    files = {"confusion": "confusion_int8.png", "errors": None, "disagreements": None,
             "reliability": "reliability_int8.png"}
    for name in ("confusion_int8.png", "reliability_int8.png"):
        (report_dir / name).write_bytes(model.encode())
    figures = {"files": files, "counts": {"errors": 0, "disagreements": 0},
               "reliability": {"set": "validation_folder", "keras": reliability(keras, labels),
                               "tflite": reliability(int8, labels)}}
    sets = {"test": compare(keras[N_VAL:], int8[N_VAL:], labels[N_VAL:], NAMES),
            "validation_folder": compare(keras, int8, labels, NAMES)}
    row = SimpleNamespace(variant="int8", resize="tf-bilinear", passed=passed, to_json=lambda: {
        "variant": "int8", "path": str(tflite), "sha256": sha256_of(tflite),
        "size_bytes": tflite.stat().st_size, "resize": "tf-bilinear",
        "from_this_keras_model": True, "calibration": None, "latency_ms": 4.0, "errors": [],
        "sets": {k: v.to_json() for k, v in sets.items()},
        "checks": [Check("top-1 agreement on validation folder", 0.9, 0.98, passed).to_json()],
        "passed": passed, "figures": figures,
        "predictions": {"keras": keras.argmax(1).tolist(), "tflite": int8.argmax(1).tolist()}})
    split = SimpleNamespace(class_names=NAMES, dataset_sha256="d" * 64, seed=7)
    images = {"order": "validation split, then test split", "validation": N_VAL,
              "test": N_TEST, "labels": labels.tolist(), "paths_sha256": "p" * 64}
    config = ExportConfig(model=artifacts / f"{model}.keras", out=artifacts)
    write_report(build_report(config, split, "k" * 64, [row], [], images=images), report_dir)
    return tflite


def _metrics(artifacts: Path, **chosen_on) -> None:
    """train's metrics.json, reduced to what the bundle reads: each model's `chosen_on`."""
    models = {name: {"chosen_on": chose} for name, chose in chosen_on.items()}
    (artifacts / "metrics.json").write_text(json.dumps({"models": models}))


def _bundle(artifacts: Path, dest: Path):
    chosen, markdown = bundle(BundleConfig(artifacts, dest))
    return chosen.model, json.loads((dest / "parity.json").read_text())["bundle"], \
        markdown.read_text()


def test_a_small_lead_keeps_model4_and_the_report_says_not_distinguishable(tmp_path):
    artifacts, dest = tmp_path / "artifacts", tmp_path / "models"
    _export(artifacts, "model4", wrong_on_validation=2)
    _export(artifacts, "model5", wrong_on_validation=1)
    _export(artifacts, "model6", wrong_on_validation=0, passed=False)
    _metrics(artifacts, model4={}, model5={}, model6={})
    model, entry, text = _bundle(artifacts, dest)
    assert model == "model4"
    assert (dest / BUNDLED_NAME).read_bytes() == b"model4 int8"
    assert (dest / "confusion_int8.png").read_bytes() == b"model4"
    (comparison,) = entry["comparisons"]
    assert comparison["split"] == "validation" and comparison["better"] is False
    assert comparison["paired"]["only_a"] == 1 and comparison["paired"]["only_b"] == 0
    notes = {c["model"]: c["note"] for c in entry["candidates"]}
    assert notes == {"model4": "**bundled**",
                     "model5": "not better than the baseline beyond chance",
                     "model6": "failed: top-1 agreement on validation folder"}
    assert "## Why this model is bundled" in text
    assert ("model5 vs model4 on the validation split (40 images): 1 right only for model5, "
            "0 only for model4; McNemar exact p = 1, Holm-adjusted 1: not distinguishable"
            in text)
    # The test split chose nothing: the bundled model's honest figure, with its interval.
    assert ("100.00% (40/40, 95% CI 91.2-100.0%) on the test split, which chose nothing"
            in text)
    assert "The validation split used for this choice has now also chosen the bundled" in text
    assert "![confusion matrices, Keras and int8](confusion_int8.png)" in text


def test_the_terminal_quotes_the_test_and_the_honest_figure(tmp_path):
    artifacts, dest = tmp_path / "artifacts", tmp_path / "models"
    _export(artifacts, "model4", wrong_on_validation=2)
    _export(artifacts, "model5", wrong_on_validation=1)
    _metrics(artifacts, model4={}, model5={"validation": ["epoch"]})
    result = CliRunner().invoke(app, ["bundle", "--artifacts", str(artifacts),
                                      "--dest", str(dest)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("model5 vs model4 on the test split (40 images): 0 right only")
    assert lines[0].endswith(": not distinguishable")
    assert lines[1].startswith("model4: model4 is the baseline (the study's model")
    assert lines[2] == ("model4 int8: 95.00% (38/40, 95% CI 83.5-98.6%) on the validation "
                        "split, which chose nothing")
    assert lines[3].startswith(f"bundled {artifacts / 'model4_int8.tflite'} (model4)")


def test_a_model_better_beyond_chance_on_clean_images_is_bundled(tmp_path):
    artifacts, dest = tmp_path / "artifacts", tmp_path / "models"
    _export(artifacts, "model4", wrong_on_validation=12)
    _export(artifacts, "model5", wrong_on_validation=0)
    _metrics(artifacts, model4={}, model5={"train": ["L2 penalty"]})
    model, entry, text = _bundle(artifacts, dest)
    assert model == "model5" and entry["baseline"] == "model4"
    (comparison,) = entry["comparisons"]
    # 12 discordant images, all for model5: p = 2 / 2**12.
    assert comparison["paired"]["p_value"] == pytest.approx(2 / 4096)
    assert comparison["better"] is True
    assert "better than the baseline model4 beyond chance on the validation split" in text
    assert entry["unbiased"]["images"] == "test split" and entry["unbiased"]["chose"] == []


def test_the_bundle_never_compares_on_images_that_chose_a_candidates_epoch(tmp_path):
    # model5 is far ahead on the validation split, which picked its epoch; on the test split
    # the two make the same mistakes. Judged on validation, model5 would win (15 to 0).
    artifacts, dest = tmp_path / "artifacts", tmp_path / "models"
    _export(artifacts, "model4", wrong_on_validation=15, wrong_on_test=(3, 7))
    _export(artifacts, "model5", wrong_on_validation=0, wrong_on_test=(3, 7))
    _metrics(artifacts, model4={}, model5={"validation": ["epoch", "learning rate"]})
    model, entry, text = _bundle(artifacts, dest)
    assert model == "model4"
    (comparison,) = entry["comparisons"]
    assert comparison["split"] == "test" and comparison["paired"]["n"] == N_TEST
    assert (comparison["paired"]["only_a"], comparison["paired"]["only_b"]) == (0, 0)
    assert entry["decided_on"] == ["test"]
    # model4's validation split chose nothing, and now its test split chose the bundle.
    assert entry["unbiased"]["images"] == "validation split"
    assert "model5 vs model4 on the test split (40 images)" in text


def test_the_same_lead_wins_when_the_validation_split_chose_nothing(tmp_path):
    artifacts = tmp_path / "artifacts"
    _export(artifacts, "model4", wrong_on_validation=15, wrong_on_test=(3, 7))
    _export(artifacts, "model5", wrong_on_validation=0, wrong_on_test=(3, 7))
    _metrics(artifacts, model4={}, model5={})
    assert _bundle(artifacts, tmp_path / "models")[0] == "model5"


def test_metrics_without_chosen_on_mean_the_validation_split_chose_a_restored_epoch(tmp_path):
    artifacts = tmp_path / "artifacts"
    _export(artifacts, "model4", wrong_on_validation=15)
    _export(artifacts, "model5", wrong_on_validation=0)
    (artifacts / "metrics.json").write_text(json.dumps(
        {"models": {"model4": {"final_val_accuracy": 0.6}, "model5": {"restored_epoch": 3}}}))
    model, entry, _ = _bundle(artifacts, tmp_path / "models")
    assert model == "model4" and entry["comparisons"][0]["split"] == "test"


def test_a_pair_with_no_clean_split_cannot_be_called_better(tmp_path):
    artifacts = tmp_path / "artifacts"
    _export(artifacts, "model4", wrong_on_validation=15, wrong_on_test=range(15))
    _export(artifacts, "model5")
    _metrics(artifacts, model4={}, model5={"validation": ["epoch"], "test": ["threshold"]})
    model, entry, text = _bundle(artifacts, tmp_path / "models")
    assert model == "model4"
    (comparison,) = entry["comparisons"]
    assert comparison["paired"] is None and comparison["better"] is False
    assert "cannot be called better: no split is free of choices about both" in text


def test_several_challengers_are_holm_corrected(tmp_path):
    # 6 to 0 discordant images: p = 2 / 64 = 0.031, better alone, not as one of two.
    artifacts = tmp_path / "artifacts"
    _export(artifacts, "model4", wrong_on_validation=6)
    _export(artifacts, "model5")
    _metrics(artifacts, model4={}, model5={})
    assert _bundle(artifacts, tmp_path / "alone")[0] == "model5"
    _export(artifacts, "model6")
    _metrics(artifacts, model4={}, model5={}, model6={})
    model, entry, _ = _bundle(artifacts, tmp_path / "two")
    assert model == "model4"
    assert [c["p_holm"] for c in entry["comparisons"]] == [pytest.approx(2 / 32)] * 2


def test_of_several_winners_the_most_accurate_on_the_clean_split_is_bundled(tmp_path):
    artifacts = tmp_path / "artifacts"
    _export(artifacts, "model4", wrong_on_validation=20)
    _export(artifacts, "model5", wrong_on_validation=2)
    _export(artifacts, "model6", wrong_on_validation=1)
    _metrics(artifacts, model4={}, model5={}, model6={})
    model, entry, _ = _bundle(artifacts, tmp_path / "models")
    assert model == "model6"
    notes = {c["model"]: c["note"] for c in entry["candidates"]}
    assert notes["model5"] == "better than the baseline, less accurate than the bundled model"


def test_a_report_without_per_image_answers_or_on_other_images_cannot_win(tmp_path):
    artifacts = tmp_path / "artifacts"
    _export(artifacts, "model4", wrong_on_validation=20)
    _export(artifacts, "model5")
    _export(artifacts, "model6")
    _metrics(artifacts, model4={}, model5={}, model6={})
    old = artifacts / "model5_parity" / "parity.json"
    report = json.loads(old.read_text())
    del report["variants"][0]["predictions"]
    old.write_text(json.dumps(report))
    other = artifacts / "model6_parity" / "parity.json"
    report = json.loads(other.read_text())
    report["parity_images"]["paths_sha256"] = "q" * 64
    other.write_text(json.dumps(report))
    model, entry, _ = _bundle(artifacts, tmp_path / "models")
    assert model == "model4"
    notes = [c["note"] for c in entry["comparisons"]]
    assert notes[0].startswith("cannot be called better: model5's parity.json records no "
                               "per-image answers")
    assert notes[1] == ("cannot be called better: its parity report was made on other images "
                        "than model4's")


def test_without_a_passing_model4_the_first_candidate_by_name_is_the_baseline(tmp_path):
    artifacts = tmp_path / "artifacts"
    _export(artifacts, "model4", passed=False)
    _export(artifacts, "model6", wrong_on_validation=1)
    _export(artifacts, "model5", wrong_on_validation=2)
    _metrics(artifacts, model4={}, model5={}, model6={})
    model, entry, text = _bundle(artifacts, tmp_path / "models")
    assert model == entry["baseline"] == "model5"
    assert "no model4 passed its gate here, so the first candidate by name" in text


def test_a_trained_but_unexported_model4_must_be_exported_before_bundling(tmp_path):
    artifacts = tmp_path / "artifacts"
    _export(artifacts, "model5")
    _metrics(artifacts, model4={}, model5={"validation": ["epoch"]})
    (artifacts / "model4.keras").write_bytes(b"keras")
    with pytest.raises(ExportError, match=r"model4.keras has no int8 export with a parity "
                                          r"report .*`make export MODEL=model4`"):
        bundle(BundleConfig(artifacts, tmp_path / "models"))
    _export(artifacts, "model4", passed=False)
    assert _bundle(artifacts, tmp_path / "models")[0] == "model5"


def test_without_metrics_json_only_a_lone_baseline_is_bundled(tmp_path):
    artifacts = tmp_path / "artifacts"
    _export(artifacts, "model4", wrong_on_validation=2)
    model, entry, _ = _bundle(artifacts, tmp_path / "models")
    assert model == "model4" and entry["comparisons"] == []
    # Nothing recorded what the validation split chose: the test split is the honest figure.
    assert entry["unbiased"]["images"] == "test split"
    _export(artifacts, "model5")
    with pytest.raises(ExportError, match=r"metrics.json not found: without it the bundle"):
        bundle(BundleConfig(artifacts, tmp_path / "models"))
    result = CliRunner().invoke(app, ["bundle", "--artifacts", str(artifacts),
                                      "--dest", str(tmp_path / "models")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{artifacts / 'metrics.json'} not found" in result.output.replace("\n", "")


def test_a_file_changed_since_its_check_is_not_bundled(tmp_path):
    artifacts = tmp_path / "artifacts"
    _export(artifacts, "model4", wrong_on_validation=2)
    _export(artifacts, "model5", wrong_on_validation=0).write_bytes(b"re-exported, unchecked")
    _metrics(artifacts, model4={}, model5={})
    chosen, _ = bundle(BundleConfig(artifacts, tmp_path / "models"))
    assert chosen.model == "model4"


def test_nothing_that_passed_is_a_user_error_naming_each_reason(tmp_path):
    artifacts = tmp_path / "artifacts"
    _export(artifacts, "model4", wrong_on_validation=0, passed=False)
    with pytest.raises(ExportError, match="No int8 model in .* passed its parity gate "
                                          r"\(model4: failed: top-1 agreement"):
        bundle(BundleConfig(artifacts, tmp_path / "models"))
    result = CliRunner().invoke(app, ["bundle", "--artifacts", str(tmp_path / "none"),
                                      "--dest", str(tmp_path / "models")])
    assert result.exit_code == 1
    assert "no parity report" in result.output and "Traceback" not in result.output


def test_pictures_of_the_previous_bundle_are_removed(tmp_path):
    artifacts, dest = tmp_path / "artifacts", tmp_path / "models"
    _export(artifacts, "model4", wrong_on_validation=0)
    bundle(BundleConfig(artifacts, dest))
    report = json.loads((dest / "parity.json").read_text())
    report["variants"][0]["figures"]["files"]["old"] = "old.png"
    (dest / "parity.json").write_text(json.dumps(report))
    (dest / "old.png").write_bytes(b"old")
    bundle(BundleConfig(artifacts, dest))
    assert not (dest / "old.png").exists() and (dest / "confusion_int8.png").exists()
