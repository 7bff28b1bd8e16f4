"""export.choose: which Keras model `make export` converts when none is named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from export.choose import best_model, choose_model, resolve, saved_val_accuracy
from export.config import ExportConfig
from export.errors import ExportError


def _artifacts(root: Path, models: dict[str, dict | None]) -> Path:
    """`<name>.keras` files (empty: only their presence matters) and metrics.json entries."""
    root.mkdir(parents=True, exist_ok=True)
    for name in models:
        (root / f"{name}.keras").write_bytes(b"")
    entries = {name: entry for name, entry in models.items() if entry is not None}
    (root / "metrics.json").write_text(json.dumps({"models": entries}))
    return root


STUDY = {"final_val_accuracy": 0.9728, "best_val_accuracy": 0.9777}
FINE_TUNED = {"final_val_accuracy": 0.9790, "best_val_accuracy": 0.9851, "restored_epoch": 0}


def test_the_saved_weights_validation_accuracy_depends_on_whether_training_restored_them():
    assert saved_val_accuracy(STUDY) == 0.9728
    assert saved_val_accuracy(FINE_TUNED) == 0.9851
    assert saved_val_accuracy({}) is None


def test_the_best_validated_mobilenet_model_is_the_default(tmp_path):
    root = _artifacts(tmp_path, {"model1": {"final_val_accuracy": 0.99}, "model4": STUDY,
                                 "model5": FINE_TUNED})
    choice = best_model(root)
    assert choice.path == root / "model5.keras"
    assert "model5 98.51%, model4 97.28%" in choice.reason


def test_a_worse_fine_tune_is_not_chosen(tmp_path):
    worse = {**FINE_TUNED, "best_val_accuracy": 0.95}
    assert best_model(_artifacts(tmp_path, {"model4": STUDY, "model5": worse})).path.stem \
        == "model4"


def test_without_metrics_the_present_file_or_the_study_model_is_taken(tmp_path):
    only5 = _artifacts(tmp_path / "a", {"model5": None})
    assert best_model(only5).path.stem == "model5"
    both = _artifacts(tmp_path / "b", {"model4": None, "model5": None})
    assert best_model(both).path.stem == "model4"
    assert "no validation figure" in best_model(both).reason


def test_no_candidate_and_a_missing_named_model_are_user_errors_that_say_what_is_there(tmp_path):
    root = _artifacts(tmp_path, {"model1": {"final_val_accuracy": 0.6}})
    with pytest.raises(ExportError, match="No model4.keras or model5.keras in .*make train"):
        best_model(root)
    with pytest.raises(ExportError, match=r"model5.keras not found \(.* holds model1\)"):
        choose_model(root / "model5.keras", root)


def test_resolve_fills_in_the_config_and_keeps_a_named_model(tmp_path):
    root = _artifacts(tmp_path, {"model4": STUDY, "model5": FINE_TUNED})
    config, choice = resolve(ExportConfig(split=root / "split.json", out=root))
    assert config.model == root / "model5.keras"
    assert config.tflite_path("int8") == root / "model5_int8.tflite"
    assert config.report_dir == root / "model5_parity"
    config, choice = resolve(ExportConfig(model=root / "model4.keras", split=root / "split.json"))
    assert config.model.stem == "model4" and choice.reason == "named by the user (model4)"
