"""model5, beyond the study: which layers train, BatchNorm frozen, best epoch kept, and adding
model5 to an earlier run. Random MobileNetV2 weights and 32x32 images keep it fast."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.test_study import IMAGE_SIZE, STUDY_SHA256, tiny_split
from train.config import TrainConfig
from train.errors import PawliteError

# Blocks 13-16 and Conv_1 of MobileNetV2 1.0 (its convolutions have no bias):
# expand, depthwise 3x3, project per block; 1x1 convs are in*out.
BLOCK_13 = 96 * 576 + 9 * 576 + 576 * 160
BLOCKS_14_15 = 2 * (160 * 960 + 9 * 960 + 960 * 160)
BLOCK_16 = 160 * 960 + 9 * 960 + 960 * 320
CONV_1 = 320 * 1280
HEAD = (1280 * 64 + 64) + (64 * 2 + 2)
MODEL5_TRAINABLE = BLOCK_13 + BLOCKS_14_15 + BLOCK_16 + CONV_1 + HEAD


@pytest.fixture()
def model5():
    from train.finetune import unfreeze_top
    from train.models import build_model

    return unfreeze_top(build_model(4, IMAGE_SIZE, weights=None, seed=3))


def test_hand_counted_trainable_weights():
    assert BLOCK_13 + BLOCKS_14_15 + BLOCK_16 + CONV_1 == 1_663_360
    assert MODEL5_TRAINABLE == 1_745_474


def test_only_the_top_of_the_base_trains_and_no_batchnorm(model5):
    import keras

    from train.finetune import base_of
    from train.models import param_counts

    base = base_of(model5)
    names = [layer.name for layer in base.layers]
    cut = names.index("block_13_expand")
    assert cut == 116 and len(names) == 154
    assert not any(layer.trainable_weights for layer in base.layers[:cut])
    norms = [layer for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and not any(layer.trainable for layer in norms)
    top = [layer for layer in base.layers[cut:] if layer.weights
           and not isinstance(layer, keras.layers.BatchNormalization)]
    assert top and all(layer.trainable for layer in top)
    assert param_counts(model5)["trainable"] == MODEL5_TRAINABLE
    assert model5.name == "model5"
    assert model5.optimizer.learning_rate.numpy() == pytest.approx(1e-4)


def test_a_training_step_moves_the_top_only_and_keeps_batchnorm_statistics(model5):
    """BatchNorm in inference mode: its moving mean and variance stay ImageNet's (here random)."""
    import keras

    from train.finetune import base_of

    base = base_of(model5)
    before = {w.path: w.numpy() for w in model5.weights}
    x = np.random.default_rng(0).uniform(0, 255, (8, *IMAGE_SIZE, 3)).astype("float32")
    y = np.array([0, 1] * 4)
    model5.compile(optimizer=keras.optimizers.SGD(1.0),
                   loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model5.train_on_batch(x, y)
    moved = {w.path for w in model5.weights if not np.array_equal(before[w.path], w.numpy())}
    norm_stats = {w.path for layer in base.layers
                  if isinstance(layer, keras.layers.BatchNormalization) for w in layer.weights}
    assert not moved & norm_stats
    assert not moved & {w.path for layer in base.layers[:116] for w in layer.weights}
    assert moved & {w.path for layer in base.layers[116:] for w in layer.weights}
    sample = x[:2] / 127.5 - 1
    np.testing.assert_allclose(np.asarray(base(sample, training=True)),
                               np.asarray(base(sample, training=False)), atol=1e-5)


def test_an_unknown_layer_is_refused():
    from train.finetune import unfreeze_top
    from train.models import build_model

    with pytest.raises(ValueError, match="no layer 'block_99_expand'"):
        unfreeze_top(build_model(4, IMAGE_SIZE, weights=None, seed=3), "block_99_expand")


def test_the_keeper_restores_the_best_epoch_and_stops_after_patience():
    import keras

    from train.finetune import best_epoch_keeper

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    keeper = best_epoch_keeper(patience=2)
    keeper.set_model(model)
    keeper.on_train_begin()
    for epoch, val in enumerate([0.5, 0.8, 0.8, 0.7]):
        model.layers[0].kernel.assign([[float(epoch)]])
        keeper.on_epoch_end(epoch, {"val_accuracy": val})
    assert keeper.best_epoch == 2 and model.stop_training
    keeper.on_train_end()
    assert float(model.layers[0].kernel.numpy()[0, 0]) == 1.0


@pytest.fixture(scope="module")
def run_with_model5(tmp_path_factory):
    """model4 and model5 over two seeds in one run."""
    from train.models import build_base
    from train.study import run_study

    root = tmp_path_factory.mktemp("m5")
    weights = root / "random_mnv2.weights.h5"
    build_base(IMAGE_SIZE, None).save_weights(weights)
    config = TrainConfig(out=root / "out", epochs=1, fine_tune_epochs=2, image_size=IMAGE_SIZE,
                         batch_size=4, base_weights=str(weights), models=(4, 5), seeds=(11, 12))
    lines: list[str] = []
    split = tiny_split(root / "data", sha256=STUDY_SHA256)
    metrics = run_study(config, split, echo=lines.append)
    split.save(config.split_path)
    return config, metrics, lines


def test_model5_fine_tunes_each_seeds_model4(run_with_model5):
    config, metrics, lines = run_with_model5
    m5 = metrics["models"]["model5"]
    assert [a["from_model4"] for a in m5["attempts"]] == [
        {"seed": 11, "source": "this run"}, {"seed": 12, "source": "this run"}]
    assert m5["part_of_study"] is False and m5["fine_tune"]["from_layer"] == "block_13_expand"
    assert m5["params"]["trainable"] == MODEL5_TRAINABLE
    assert 1 <= m5["restored_epoch"] == m5["best_epoch"] <= 2
    assert metrics["best_model"]["name"] == "model4"
    assert sum(line.startswith("model5 epoch") for line in lines) == sum(
        a["epochs_run"] for a in m5["attempts"])
    assert all((config.out / f).is_file() for f in ("model5.keras", "model5_accuracy.png"))


def test_saved_model5_is_its_best_epoch(run_with_model5):
    """The restored weights are saved and tested: evaluating them gives the best epoch's val."""
    import keras

    from train.dataset import load_arrays, to_dataset

    config, metrics, _ = run_with_model5
    model = keras.models.load_model(config.out / "model5.keras")
    images, labels = load_arrays(tiny_split(config.out.parent / "data"), "validation",
                                 IMAGE_SIZE)
    result = model.evaluate(to_dataset(images, labels, 4, shuffle=False, seed=0), verbose=0,
                            return_dict=True)
    assert result["accuracy"] == metrics["models"]["model5"]["best_val_accuracy"]


def test_report_keeps_model5_out_of_the_study(run_with_model5):
    from train.report import render_report

    config, metrics, _ = run_with_model5
    report = (config.out / "report.md").read_text()
    study_part, beyond = report.split("## Beyond the study: model5 (not part of the study)")
    assert "| model5 |" not in study_part and "### model5" not in study_part
    assert "**Not part of the study.**" in beyond and "block_13_expand" in beyond
    assert "![model5 accuracy](model5_accuracy.png)" in beyond
    assert "Started from model4 trained in this run, seed 11." in beyond
    assert "Over seeds 11, 12:" in beyond
    assert re.search(r"Kept epoch [12] of \d.*: validation accuracy [\d.]+% \(\d/6\), test "
                     r"accuracy [\d.]+% \(\d/4\)", beyond)
    boosted = json.loads(json.dumps(metrics))
    boosted["models"]["model5"]["best_val_accuracy"] = 2.0
    assert "model4 (chosen by validation accuracy)" in render_report(boosted)


def test_model5_alone_needs_model4(tmp_path):
    from train.study import run_study

    config = TrainConfig(out=tmp_path / "out", models=(5,), image_size=IMAGE_SIZE)
    with pytest.raises(PawliteError, match="model5 fine-tunes model4"):
        run_study(config, tiny_split(tmp_path / "data"), echo=lambda _: None)


def test_adding_model5_to_an_earlier_run_keeps_its_entries(run_with_model5, tmp_path):
    from train.extend import add_model5

    earlier, metrics, _ = run_with_model5
    out = tmp_path / "run"
    shutil.copytree(earlier.out, out)
    before = json.loads((out / "metrics.json").read_text())
    config = TrainConfig(out=out, models=(5,), fine_tune_epochs=1, seed=7,
                         data_dir=earlier.out.parent / "data")
    lines: list[str] = []
    added = add_model5(config, echo=lines.append)
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk == added and list(on_disk["models"]) == ["model4", "model5"]
    assert on_disk["models"]["model4"] == before["models"]["model4"]
    assert {k: v for k, v in on_disk.items() if k != "models"} == {
        k: v for k, v in before.items() if k != "models"}
    m5 = on_disk["models"]["model5"]
    assert m5["from_model4"]["seed"] == 11 and m5["from_model4"]["source"] == str(
        out / "model4.keras")
    assert m5["seed"] == 7 and len(m5["history"]["val_accuracy"]) == 1
    assert m5["added"]["command"].startswith("python -m train --models 5 --seeds 7")
    assert (out / "split.json").read_text() == (earlier.out / "split.json").read_text()
    report = (out / "report.md").read_text()
    assert f"`{out / 'model4.keras'}` of an earlier run, seed 11" in report
    assert "Added to this run later" in report
    assert "model5" in lines[-1]


def test_adding_model5_without_model4_says_to_train_it_first(tmp_path):
    from train.cli import app

    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "split.json").write_text("{}")
    result = CliRunner().invoke(app, ["--models", "5", "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "has no model4.keras, metrics.json" in result.output
    assert "Train model4 first: `make train MODELS=4,5" in result.output
    assert "Traceback" not in result.output


def test_model5_without_model4_but_with_others_is_a_usage_error():
    from train.cli import app

    result = CliRunner().invoke(app, ["--models", "3,5"])
    assert result.exit_code == 2 and "model5 fine-tunes model4" in result.output
