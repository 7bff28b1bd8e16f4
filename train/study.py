"""The whole study in one call: explore, train the chosen models, evaluate, plot, report.

Images are decoded once (`train.dataset`), the test split is evaluated once per model after its
training, and each model is saved before the next one is built, so a late failure keeps the
earlier results on disk.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from train.config import TrainConfig
from train.split import SPLIT_NAMES, Split

NOTES = [
    "model3 and model4 apply MobileNetV2's `preprocess_input` as a `Rescaling(1/127.5, "
    "offset=-1)` layer: the same x/127.5 - 1, written so the saved `.keras` file reloads "
    "without custom code.",
    "The test split is fixed in `split.json` (drawn once from the validation folder with the "
    "split seed, sized by the study's 1/5-of-validation-batches rule); the study re-drew it "
    "from a reshuffling dataset on every run.",
    "Training accuracy is Keras's running mean over each epoch with dropout and augmentation "
    "active, as in the study's plots; that is why it can sit below validation accuracy.",
    "model4's base is frozen; Keras 3 runs the BatchNormalization layers of a frozen model in "
    "inference mode, so the study's `training=False` call holds inside `fit()` too.",
]


def _datasets(config: TrainConfig, split: Split) -> tuple[dict, dict]:
    from train.dataset import load_arrays, to_dataset

    arrays = {name: load_arrays(split, name, config.image_size) for name in SPLIT_NAMES}
    datasets = {
        name: to_dataset(x, y, config.batch_size, shuffle=name == "train", seed=config.seed)
        for name, (x, y) in arrays.items()
    }
    return arrays, datasets


def _train_one(
    number, config, datasets, has_test: bool, weights_path, num_classes: int, out: Path, echo
) -> dict:
    import keras

    from train.models import build_model, param_counts
    from train.plots import plot_accuracy
    from train.report import ARCHITECTURES, overfitting_verdict
    from train.training import fit_model

    name = f"model{number}"
    start = time.perf_counter()
    model = build_model(
        number, config.image_size, weights_path, config.seed, num_classes
    )
    params = param_counts(model)
    echo(f"{name}: {params['trainable']:,} trainable of {params['total']:,} parameters; "
         f"training {config.epochs} epochs")
    fit = fit_model(model, datasets["train"], datasets["validation"], config.epochs, name, echo)
    test = None
    if has_test:
        test = model.evaluate(datasets["test"], verbose=0, return_dict=True)
    files = {"model": f"{name}.keras", "history": f"{name}_history.json",
             "plot": f"{name}_accuracy.png"}
    model.save(out / files["model"])
    fit.save(out / files["history"])
    plot_accuracy(fit.history, out / files["plot"], f"{name}: training vs validation accuracy")
    keras.backend.clear_session()

    val, train = fit.history["val_accuracy"], fit.history["accuracy"]
    gap = train[-1] - val[-1]
    best = max(range(len(val)), key=lambda i: (val[i], -i))
    return {
        "architecture": ARCHITECTURES[name],
        "final_train_accuracy": train[-1],
        "final_val_accuracy": val[-1],
        "best_val_accuracy": val[best],
        "best_epoch": best + 1,
        "test_accuracy": None if test is None else float(test["accuracy"]),
        "test_loss": None if test is None else float(test["loss"]),
        "train_val_gap": gap,
        "overfitting": overfitting_verdict(gap),
        "params": params,
        "train_seconds": fit.train_seconds,
        "seconds_per_epoch": fit.train_seconds / len(val),
        "wall_seconds": round(time.perf_counter() - start, 3),
        "history": fit.to_json(),
        "files": files,
    }


def run_study(config: TrainConfig, split: Split, echo: Callable[[str], None] = print) -> dict:
    """Run the study described by `config` on `split`; returns what `metrics.json` holds."""
    from train.explore import explore
    from train.models import resolve_base_weights
    from train.plots import plot_comparison
    from train.report import (
        STUDY,
        best_model,
        library_versions,
        runtime_info,
        summary_table,
        write_metrics,
        write_report,
    )

    start = time.perf_counter()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    weights = resolve_base_weights(config.base_weights) if 4 in config.models else None
    if os.environ.get("TF_ENABLE_ONEDNN_OPTS") is None:
        echo("note: TF_ENABLE_ONEDNN_OPTS is unset, so on CPUs without AVX-512 (e.g. AMD) "
             "TensorFlow skips its oneDNN kernels; setting it to 1 cut training CPU time by "
             "about a third on a 2-core AMD EPYC")
    echo("decoding images (once) ...")
    arrays, datasets = _datasets(config, split)
    exploration = explore(split, *arrays["train"], out, config.seed)
    exploration["test_size"] = len(arrays["test"][1])
    has_test = exploration["test_size"] > 0
    base = exploration["baseline"]
    echo(f"label counts {exploration['label_counts']}; majority baseline "
         f"{base['accuracy']['validation']:.3f} on validation")

    models = {}
    for number in sorted(config.models):
        weights_path = weights.path if number == 4 else None
        models[f"model{number}"] = _train_one(
            number, config, datasets, has_test, weights_path, len(split.class_names), out, echo
        )

    plot_comparison({k: m["history"] for k, m in models.items()}, out / "comparison.png",
                    base["accuracy"]["validation"])
    best = best_model(models)
    metrics = {
        "format": "pawlite-metrics/1",
        "run": config.to_json(),
        "study_seconds": round(time.perf_counter() - start, 3),
        "exploration": exploration,
        "models": models,
        "best_model": {"name": best, "test_accuracy": models[best]["test_accuracy"]},
        "study_reported": STUDY,
        "data": {"source": split.data_source, "sha256": split.dataset_sha256,
                 "root": str(split.data_root), "split_seed": split.seed},
        "base_weights": weights.to_json() if weights else None,
        "versions": library_versions(),
        "runtime": runtime_info(),
        "notes": NOTES,
    }
    write_metrics(metrics, out / "metrics.json")
    write_report(metrics, out / "report.md")
    echo(summary_table(metrics))
    return metrics
