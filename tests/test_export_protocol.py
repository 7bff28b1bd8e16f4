"""export.protocol: what each split chose about a model, the split two models can be compared
on, and Holm's correction, against hand-worked cases."""

from __future__ import annotations

import json

import pytest

from export.errors import ExportError
from export.protocol import UNRECORDED, chosen_on, clean_split, holm, read_models


def test_recorded_choices_are_read_as_they_are_and_empty_lists_chose_nothing():
    models = {"model5": {"chosen_on": {"validation": ["epoch", "learning rate"], "test": []}},
              "model4": {"chosen_on": {}, "restored_epoch": None}}
    assert chosen_on(models, "model5") == {"validation": ("epoch", "learning rate")}
    assert chosen_on(models, "model4") == {}


def test_older_metrics_mean_the_validation_split_chose_a_restored_epoch():
    models = {"model5": {"restored_epoch": 3}, "model4": {"final_val_accuracy": 0.97}}
    assert chosen_on(models, "model5") == {"validation": ("epoch",)}
    assert chosen_on(models, "model4") == {}


def test_a_model_metrics_json_does_not_know_never_looks_clean_on_validation():
    assert chosen_on({}, "model7") == {"validation": (UNRECORDED,)}


def test_the_first_split_that_chose_nothing_for_every_model():
    four, five = {}, {"validation": ("epoch",)}
    assert clean_split(four, four) == "validation"
    assert clean_split(four, five) == "test"
    assert clean_split({"train": ("L2 penalty",)}, four) == "validation"
    assert clean_split(five, {"test": ("threshold",)}) is None


def test_holm_by_hand():
    # Sorted 0.01, 0.02, 0.04 times 3, 2, 1: 0.03, 0.04, 0.04 (kept monotone).
    assert holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert holm([0.3, 0.6]) == pytest.approx([0.6, 0.6])
    assert holm([0.02]) == [0.02] and holm([]) == []


def test_metrics_json_missing_is_none_and_broken_is_a_user_error(tmp_path):
    assert read_models(tmp_path) is None
    (tmp_path / "metrics.json").write_text("{not json")
    with pytest.raises(ExportError, match="metrics.json is not train's metrics.json"):
        read_models(tmp_path)
    (tmp_path / "metrics.json").write_text(json.dumps({"models": {"model4": {}}}))
    assert read_models(tmp_path) == {"model4": {}}


def test_parity_says_what_each_set_chose_about_the_converted_model(tmp_path):
    from types import SimpleNamespace

    from export.parity import set_choices

    (tmp_path / "metrics.json").write_text(json.dumps({"models": {
        "model5": {"restored_epoch": 3}, "model4": {"chosen_on": {}}}}))
    by_validation = SimpleNamespace(chosen_on="validation")
    assert set_choices(tmp_path, "model5", by_validation) == {
        "test": (), "validation_folder": ("epoch", "which model to convert")}
    assert set_choices(tmp_path, "model4", SimpleNamespace(chosen_on=None)) == {
        "test": (), "validation_folder": ()}
    (tmp_path / "metrics.json").unlink()
    assert set_choices(tmp_path, "model4") == {
        "test": (), "validation_folder": ("unrecorded choices (no metrics.json)",)}


def test_parity_images_name_their_order_and_digest():
    from types import SimpleNamespace

    from export.parity import parity_images

    split = SimpleNamespace(splits={"validation": [["v/a.jpg", 0], ["v/b.jpg", 1]],
                                    "test": [["t/c.jpg", 1]]})
    images = parity_images(split)
    assert (images["validation"], images["test"], images["labels"]) == (2, 1, [0, 1, 1])
    other = SimpleNamespace(splits={"validation": [["v/a.jpg", 0]],
                                    "test": [["v/b.jpg", 1], ["t/c.jpg", 1]]})
    assert parity_images(other)["paths_sha256"] != images["paths_sha256"]
