"""export.bundle: `make bundle` ships the best exported int8 model that passed its gate, and its
report says which and why. Reports are made from generated probabilities; no TensorFlow."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

from edge.runrecord import sha256_of
from export.bundle import BUNDLED_NAME, BundleConfig, bundle
from export.calibration import reliability
from export.cli import app
from export.config import ExportConfig
from export.errors import ExportError
from export.report import Check, build_report, compare, write_report

NAMES = ("cats", "dogs")


def _export(artifacts: Path, model: str, wrong_on_validation: int, passed: bool = True) -> Path:
    """A fake export of `model`: its int8 file and its parity report with one figure; 20
    validation images (the last 4 the test split), int8 wrong on the first few."""
    labels = np.array([0, 1] * 10)
    keras = np.where(labels[:, None] == np.arange(2), 0.9, 0.1)
    int8 = keras.copy()
    int8[:wrong_on_validation] = int8[:wrong_on_validation, ::-1]
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
    sets = {"test": compare(keras[16:], int8[16:], labels[16:], NAMES),
            "validation_folder": compare(keras, int8, labels, NAMES)}
    row = SimpleNamespace(variant="int8", resize="tf-bilinear", passed=passed, to_json=lambda: {
        "variant": "int8", "path": str(tflite), "sha256": sha256_of(tflite),
        "size_bytes": tflite.stat().st_size, "resize": "tf-bilinear",
        "from_this_keras_model": True, "calibration": None, "latency_ms": 4.0, "errors": [],
        "sets": {k: v.to_json() for k, v in sets.items()},
        "checks": [Check("top-1 agreement on validation folder", 0.9, 0.98, passed).to_json()],
        "passed": passed, "figures": figures})
    split = SimpleNamespace(class_names=NAMES, dataset_sha256="d" * 64, seed=7)
    config = ExportConfig(model=artifacts / f"{model}.keras", out=artifacts)
    write_report(build_report(config, split, "k" * 64, [row], []), report_dir)
    return tflite


def test_the_most_accurate_passing_model_on_the_validation_split_is_bundled(tmp_path):
    artifacts, dest = tmp_path / "artifacts", tmp_path / "models"
    _export(artifacts, "model4", wrong_on_validation=2)
    _export(artifacts, "model5", wrong_on_validation=1)
    _export(artifacts, "model6", wrong_on_validation=0, passed=False)
    chosen, markdown = bundle(BundleConfig(artifacts, dest))
    assert chosen.model == "model5"
    assert (dest / BUNDLED_NAME).read_bytes() == b"model5 int8"
    assert (dest / "confusion_int8.png").read_bytes() == b"model5"
    report = json.loads((dest / "parity.json").read_text())
    assert report["bundle"]["model"] == "model5"
    notes = {c["model"]: c["note"] for c in report["bundle"]["candidates"]}
    assert notes == {"model4": "passed, less accurate", "model5": "**bundled**",
                     "model6": "failed: top-1 agreement on validation folder"}
    text = markdown.read_text()
    assert "## Why this model is bundled" in text and "93.75%" in text  # 15 of 16 right
    assert "![confusion matrices, Keras and int8](confusion_int8.png)" in text


def test_a_file_changed_since_its_check_is_not_bundled(tmp_path):
    artifacts = tmp_path / "artifacts"
    _export(artifacts, "model4", wrong_on_validation=2)
    _export(artifacts, "model5", wrong_on_validation=0).write_bytes(b"re-exported, unchecked")
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
