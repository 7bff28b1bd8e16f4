"""The collapse rule, the retry seed, dataset identity, --seeds parsing and machine info."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from train.collapse import WINDOW, check, constant_loss, next_seed, probe
from train.errors import PawliteError
from train.identity import identify
from train.machine import cpu_info
from train.seeds import parse_seeds, summarise
from train.split import Split

RESULTS = Path(__file__).resolve().parents[1] / "results"
LN2 = math.log(2)
# model1 collapsed on an AVX-512 machine, seed 1337.
COLLAPSED_LOSS = [7.98, 0.6932, 0.6932, 0.6931, 0.6932, 0.6932]
COLLAPSED_ACCURACY = [0.49, 0.50, 0.495, 0.50, 0.498, 0.50]


def _history(loss, accuracy):
    return {"loss": list(loss), "accuracy": list(accuracy)}


def test_constant_loss_is_the_prior_entropy():
    assert constant_loss({"cats": 1000, "dogs": 1000}) == pytest.approx(LN2)
    assert constant_loss({k: 7 for k in "abcdefghij"}) == pytest.approx(math.log(10))
    assert constant_loss({"a": 3, "b": 1}) < LN2


def test_the_issue_history_is_a_collapse_after_the_window():
    for epochs in range(1, WINDOW + 1):
        prefix = _history(COLLAPSED_LOSS[:epochs], COLLAPSED_ACCURACY[:epochs])
        assert check("model1", prefix, 0.5, LN2) is None
    found = check("model1", _history(COLLAPSED_LOSS[:WINDOW + 1], COLLAPSED_ACCURACY[:WINDOW + 1]),
                  0.5, LN2)
    assert found is not None and found.epoch == WINDOW + 1
    assert "class prior" in found.cause and "raw 0..255 pixels" in found.cause
    assert "raw 0..255" not in check("model3", _history(COLLAPSED_LOSS, COLLAPSED_ACCURACY), 0.5,
                                     LN2).cause


@pytest.mark.parametrize("name", ["model1", "model2", "model3", "model4"])
def test_the_committed_runs_never_look_collapsed(name):
    """model2 sat at 53-56% and loss 0.683-0.690 for epochs 2-5: a slow start, not a collapse."""
    history = json.loads((RESULTS / f"{name}_history.json").read_text())
    for epochs in range(1, len(history["loss"]) + 1):
        prefix = _history(history["loss"][:epochs], history["accuracy"][:epochs])
        assert check(name, prefix, 0.5, LN2) is None, epochs


def test_a_nan_loss_is_a_collapse_at_once():
    found = check("model1", _history([3.0, float("nan")], [0.5, 0.5]), 0.5, LN2)
    assert found is not None and found.epoch == 2 and "NaN" in found.cause


def test_accuracy_above_the_baseline_is_never_a_collapse():
    loss = [1.0] + [LN2] * 5
    assert check("model1", _history(loss, [0.5, 0.5, 0.5, 0.6, 0.6, 0.6]), 0.5, LN2) is None


def test_probe_sees_a_constant_model_and_its_dead_units():
    """A model1 whose Dense(64) only outputs zeros answers every image the same way."""
    import numpy as np

    from train.models import build_model

    model = build_model(1, (32, 32), None, 5, 2)
    dense = model.layers[-2]
    dense.set_weights([np.zeros_like(w) for w in dense.get_weights()])
    images = np.random.default_rng(0).integers(0, 255, (6, 32, 32, 3)).astype(np.uint8)
    spread, dead, hidden = probe(model, images)
    assert spread == 0.0 and (dead, hidden) == (64, 64)
    history = _history([2.0, 0.9, 0.9, 0.9], [0.5, 0.5, 0.5, 0.5])
    found = check("model1", history, 0.5, LN2, model, images)
    assert found is not None and found.output_spread == 0.0
    assert "all 64 units" in found.cause and "above the constant predictor" in found.cause
    alive = build_model(1, (32, 32), None, 5, 2)
    assert check("model1", history, 0.5, LN2, alive, images) is None


def test_the_retry_seed_skips_requested_and_used_seeds():
    assert next_seed(1337, {1337, 1, 2}) == 1338
    assert next_seed(1, {1337, 1, 2}) == 3
    assert next_seed(2, {1337, 1, 2, 3}) == 4


def test_seeds_are_parsed_in_order_and_checked():
    assert parse_seeds("1337, 1,2") == (1337, 1, 2)
    for bad in ("1,1", "a,b", "", "-3"):
        with pytest.raises(PawliteError, match="--seeds"):
            parse_seeds(bad)


def test_only_runs_that_trained_enter_the_spread():
    def run(seed, stopped, val):
        return {"requested_seed": seed, "seed": seed, "stopped": stopped,
                "final_val_accuracy": val, "test_accuracy": val}

    runs = [run(1, "completed", 0.6), run(2, "collapsed", 0.5), run(3, "completed", 0.7)]
    summary = summarise(runs, runs + [run(2, "collapsed", 0.5)])
    assert summary["trained"] == 2 and summary["collapses"] == 2
    assert summary["val_accuracy"]["mean"] == pytest.approx(0.65)
    assert (summary["val_accuracy"]["min"], summary["val_accuracy"]["max"]) == (0.6, 0.7)


def _split(classes, train_per_class, val_per_class, sha256=None) -> Split:
    items = {"train": [], "validation": [], "test": []}
    for label, name in enumerate(classes):
        items["train"] += [(f"train/{name}/{i}.jpg", label) for i in range(train_per_class)]
        val = [(f"validation/{name}/{i}.jpg", label) for i in range(val_per_class)]
        items["validation"] += val[: val_per_class * 4 // 5]
        items["test"] += val[val_per_class * 4 // 5:]
    return Split(seed=1, batch_size=32, image_size=(160, 160), class_names=tuple(classes),
                 data_root=Path("/nowhere"), data_source="x", dataset_sha256=sha256,
                 splits={k: tuple(v) for k, v in items.items()})


def test_the_study_dataset_is_known_by_hash_or_layout():
    sha = "d4eeb21657f12f096e1281b69d6ef8848436731340d42a8d91c572325e18ffd2"
    assert identify(_split(("cats", "dogs"), 4, 5, sha256=sha)).is_study
    assert identify(_split(("cats", "dogs"), 1000, 500)).is_study
    assert not identify(_split(("cats", "dogs"), 999, 500)).is_study
    assert not identify(_split(("dogs", "wolves"), 1000, 500)).is_study
    other = identify(_split(tuple("abcdefghij"), 5, 5, sha256="0" * 64))
    assert not other.is_study and "classes a, b" in other.reason


def test_cpu_info_reads_model_and_vector_flags(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD EPYC 7B13\n"
                       "flags\t\t: fpu sse2 avx avx2 fma\n\nprocessor\t: 1\n")
    info = cpu_info(cpuinfo)
    assert info["model"] == "AMD EPYC 7B13" and info["avx2"] and info["avx512"] == []
    cpuinfo.write_text("model name : Intel Xeon\nflags : avx2 avx512f avx512_vnni\n")
    assert cpu_info(cpuinfo)["avx512"] == ["avx512_vnni", "avx512f"]
