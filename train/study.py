"""The whole study in one call: explore, train the chosen models, evaluate, plot, report.

Images are decoded once (`train.dataset`), the test split is evaluated once per model after its
training, and each model is saved before the next one is built, so a late failure keeps the
earlier results on disk.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from train.config import TrainConfig
from train.split import SPLIT_NAMES, Split
from train.training import CollapseWatch

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
    "model4's per-epoch validation runs its head on base features computed once: in inference "
    "the augmentation passes images through and the frozen base gives the same features every "
    "epoch, so the numbers are Keras's own validation (a test checks it), for a quarter less "
    "CPU time per model4 epoch.",
]


PROBE_IMAGES = 64


@dataclass(frozen=True)
class RunContext:
    """What every training attempt of a run shares: the decoded data and where results go."""

    config: TrainConfig
    arrays: dict
    datasets: dict
    has_test: bool
    num_classes: int
    watch: CollapseWatch
    out: Path
    echo: Callable[[str], None]
    cache: dict = field(default_factory=dict)


def spread_sample(images, n: int):
    """Every k-th image, so that a probe sees every class of a split stored class by class."""
    return images[:: max(1, len(images) // n)][:n]


def decode_splits(config: TrainConfig, split: Split) -> tuple[dict, dict]:
    """Decoded arrays of every split, and the fixed validation and test datasets.

    The training dataset is made per attempt (`_attempt`): its shuffle follows the training
    seed, while the split and the evaluation sets stay the same for every seed.
    """
    from train.dataset import load_arrays, to_dataset

    arrays = {name: load_arrays(split, name, config.image_size) for name in SPLIT_NAMES}
    datasets = {
        name: to_dataset(x, y, config.batch_size, shuffle=False, seed=config.seed)
        for name, (x, y) in arrays.items() if name != "train"
    }
    return arrays, datasets


def _attempt(number: int, seed: int, weights_path, ctx: RunContext):
    """Train model `number` once with `seed`; returns (attempt record, model, FitResult)."""
    from train.dataset import to_dataset
    from train.training import fit_model

    config, name = ctx.config, f"model{number}"
    model, epochs = _build(number, seed, weights_path, ctx), config.epochs
    train_ds = to_dataset(*ctx.arrays["train"], config.batch_size, shuffle=True, seed=seed)
    validation = _model4_validation(model, weights_path, ctx) if number == 4 else None
    fit = fit_model(model, train_ds, ctx.datasets["validation"], epochs, name, ctx.echo,
                    watch=ctx.watch, validation=validation)
    test = None
    if ctx.has_test:
        test = model.evaluate(ctx.datasets["test"], verbose=0, return_dict=True)
    val, train = fit.history["val_accuracy"], fit.history["accuracy"]
    best = max(range(len(val)), key=lambda i: (val[i], -i))
    if fit.collapse:
        why = f"collapsed at epoch {fit.collapse.epoch}: {fit.collapse.cause}"
    elif len(val) < epochs:
        why = f"stopped after {len(val)} of {epochs} epochs: no gain in validation accuracy " \
              f"for {len(val) - best - 1} epochs"
    else:
        why = f"ran all {len(val)} epochs"
    record = {
        "seed": seed,
        "epochs_run": len(val),
        "stopped": fit.stopped,
        "why": why,
        "collapse": fit.collapse.to_json() if fit.collapse else None,
        "final_train_accuracy": train[-1],
        "final_val_accuracy": val[-1],
        "best_val_accuracy": val[best],
        "best_epoch": best + 1,
        "test_accuracy": None if test is None else float(test["accuracy"]),
        "test_loss": None if test is None else float(test["loss"]),
        "train_seconds": fit.train_seconds,
        "seconds_per_epoch": fit.train_seconds / len(val),
        "history": fit.to_json(),
    }
    return record, model, fit


def _build(number: int, seed: int, weights_path, ctx: RunContext):
    """The compiled study model `number` for one attempt."""
    from train.models import build_model

    config = ctx.config
    return build_model(number, config.image_size, weights_path, seed, ctx.num_classes,
                       learning_rate=config.learning_rate)


def _model4_validation(model, weights_path, ctx: RunContext):
    """Validation on base features computed once per study: it was 11 of ~45 CPU-s per epoch."""
    from train.models import model4_parts
    from train.training import feature_validation

    features, head = model4_parts(model)
    key = ("model4_validation_features", str(weights_path))
    if key not in ctx.cache:
        ctx.cache[key] = features.predict(ctx.datasets["validation"], verbose=0)
    return feature_validation(head, ctx.cache[key], ctx.arrays["validation"][1],
                              ctx.config.batch_size)


def _seed_runs(number: int, weights_path, ctx: RunContext, save) -> tuple[list, list]:
    """Every requested seed, each retried on collapse; returns (final run per seed, attempts).

    `save(model, record)` is called after each attempt until one trained, so the saved model
    is the first run that trained (or, if none did, the last collapsed attempt).
    """
    import keras

    from train.collapse import next_seed

    config, name = ctx.config, f"model{number}"
    requested = config.training_seeds
    used: set[int] = set()
    runs, attempts, saved_trained = [], [], False
    for requested_seed in requested:
        seed = requested_seed
        for attempt in range(1, config.collapse_retries + 2):
            used.add(seed)
            record, model, fit = _attempt(number, seed, weights_path, ctx)
            record = {"requested_seed": requested_seed, "attempt": attempt, **record}
            attempts.append(record)
            if not saved_trained:
                save(model, record, fit)
                saved_trained = record["stopped"] == "completed"
            keras.backend.clear_session()
            if record["stopped"] == "completed":
                break
            if attempt > config.collapse_retries:
                ctx.echo(f"{name} seed {seed}: {record['why']}; no retries left "
                         f"(--collapse-retries {config.collapse_retries})")
                break
            seed = next_seed(seed, used | set(requested))
            ctx.echo(f"{name} seed {record['seed']}: {record['why']}; retrying with seed "
                     f"{seed} (retry {attempt} of {config.collapse_retries})")
        runs.append(record)
    return runs, attempts


def train_model(number: int, weights_path, ctx: RunContext) -> dict:
    """One model over all its seeds: the reported run is the first that trained."""
    from train.models import param_counts
    from train.plots import plot_accuracy
    from train.report import ARCHITECTURES, overfitting_verdict
    from train.seeds import summarise

    config, name = ctx.config, f"model{number}"
    start = time.perf_counter()
    files = {"model": f"{name}.keras", "history": f"{name}_history.json",
             "plot": f"{name}_accuracy.png"}
    saved: dict = {}

    def save(model, record, fit):
        saved.update(params=param_counts(model), record=record)
        model.save(ctx.out / files["model"])
        fit.save(ctx.out / files["history"])

    seeds = ", ".join(map(str, config.training_seeds))
    ctx.echo(f"{name}: training {config.epochs} epochs per seed (seeds {seeds})")
    runs, attempts = _seed_runs(number, weights_path, ctx, save)
    reported = saved["record"]
    ctx.echo(f"{name}: {saved['params']['trainable']:,} trainable of "
             f"{saved['params']['total']:,} parameters")
    trained = [r["history"] for r in runs if r["stopped"] == "completed"]
    title = f"{name}: training vs validation accuracy"
    plot_accuracy(trained or [reported["history"]], ctx.out / files["plot"], title)
    gap = reported["final_train_accuracy"] - reported["final_val_accuracy"]
    keys = ("final_train_accuracy", "final_val_accuracy", "best_val_accuracy", "best_epoch",
            "test_accuracy", "test_loss", "train_seconds", "seconds_per_epoch", "history")
    return {
        "architecture": ARCHITECTURES[name],
        "chosen_on": {},
        "evidence": evidence(reported, ctx),
        "seed": reported["seed"],
        "status": reported["stopped"],
        "collapse": reported["collapse"],
        **{k: reported[k] for k in keys},
        "train_val_gap": gap,
        "overfitting": "collapsed" if reported["collapse"] else overfitting_verdict(gap),
        "params": saved["params"],
        "wall_seconds": round(time.perf_counter() - start, 3),
        "files": files,
        "seeds": summarise(runs, attempts),
        "attempts": attempts,
    }


def evidence(record: dict, ctx: RunContext) -> dict:
    """The reported run's validation and test accuracy as counts with their 95% intervals.

    A study model runs a fixed number of epochs, so neither split chose anything about how it
    was made; the validation split does choose the study's best model (report.best_model).
    """
    from train.report_beyond import evidence as accuracy_of

    out = {}
    for split in ("validation", "test"):
        accuracy = accuracy_of(record, split, len(ctx.arrays[split][1]))
        if accuracy is not None:
            out[split] = accuracy.to_json()
    return out


BEST_MODEL_CHOICE = "the study's best model"


def mark_best_model_choice(models: dict) -> None:
    """The validation split picks the study's best model among several: say so in each
    contender's validation evidence, so that figure is never read as an untouched estimate."""
    from train.report_beyond import study_models

    contenders = study_models(models)
    if len(contenders) < 2:
        return
    for m in contenders.values():
        raw = m.get("evidence", {}).get("validation")
        if raw and BEST_MODEL_CHOICE not in raw["chose"]:
            raw["chose"].append(BEST_MODEL_CHOICE)


def plot_all(models: dict, out: Path, baseline: float | None) -> None:
    """comparison.png: every study model's validation curve (model5 has no epochs)."""
    from train.plots import plot_comparison

    histories = {k: [a["history"] for a in m["attempts"] if a["stopped"] == "completed"]
                 or [m["history"]] for k, m in models.items() if "history" in m}
    plot_comparison(histories, out / "comparison.png", baseline, {})


def train_beyond(split: Split, arrays: dict, weights_path, out: Path,
                 echo: Callable[[str], None]) -> dict:
    """model5, beyond the study (`train.feature_head`), on the split's stored folds, paired
    with the run's model4 when there is one. A split without folds gets them drawn and saved
    in the run's split.json, so that the folds that chose model5's penalty are on record."""
    from train.feature_head import FOLDS, train_model5

    if "train" not in split.folds:
        split = split.with_train_folds(FOLDS)
        split.save(out / "split.json")
        echo(f"{out / 'split.json'}: added {FOLDS} cross-validation folds of the training "
             "images, drawn with the split seed")
    entry, right = train_model5(arrays, split.folds["train"], len(split.class_names),
                                weights_path, out, echo)
    entry["paired"] = pair_with_model4(out, arrays, right)
    return entry


def pair_with_model4(out: Path, arrays: dict, model5_right: dict[str, list[bool]]) -> dict:
    """model5 against model4, image by image, on each split that chose nothing for either.

    Neither model's making looked at the validation or test images (model4 runs fixed epochs,
    model5 chose its penalty inside the training images), so both splits may back the claim.
    `model5_right` is model5's per-image verdicts per split. Empty when the run has no
    model4.keras.
    """
    import keras
    import numpy as np

    from edge.stats import paired

    if not (out / "model4.keras").is_file():
        return {}
    model4 = keras.models.load_model(out / "model4.keras")
    comparisons = {}
    for split, right5 in model5_right.items():
        x, y = arrays[split]
        predicted = model4.predict(x.astype(np.float32), batch_size=64, verbose=0)
        right4 = (predicted.argmax(axis=1) == y).tolist()
        comparisons[split] = paired("model5", right5, "model4", right4,
                                    f"{split} split").to_json()
    keras.backend.clear_session()
    return comparisons


def run_study(config: TrainConfig, split: Split, echo: Callable[[str], None] = print) -> dict:
    """Run the study described by `config` on `split`; returns what `metrics.json` holds."""
    from train.collapse import constant_loss
    from train.explore import explore
    from train.identity import identify
    from train.machine import machine_info
    from train.models import resolve_base_weights
    from train.report import STUDY, best_model, summary_table, write_metrics, write_report

    start = time.perf_counter()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    uses_base = {4, 5} & set(config.models)
    weights = resolve_base_weights(config.base_weights) if uses_base else None
    if os.environ.get("TF_ENABLE_ONEDNN_OPTS") is None:
        echo("note: TF_ENABLE_ONEDNN_OPTS is unset, so on CPUs without AVX-512 (e.g. AMD) "
             "TensorFlow skips its oneDNN kernels; setting it to 1 cut training CPU time by "
             "about a third on a 2-core AMD EPYC")
    identity = identify(split)
    echo(f"dataset: {identity.reason}")
    echo("decoding images (once) ...")
    arrays, datasets = decode_splits(config, split)
    exploration = explore(split, *arrays["train"], out, config.seed)
    exploration["test_size"] = len(arrays["test"][1])
    base = exploration["baseline"]
    echo(f"label counts {exploration['label_counts']}; majority baseline "
         f"{base['accuracy']['validation']:.3f} on validation")
    watch = CollapseWatch(
        majority_accuracy=base["accuracy"]["train"],
        constant_loss=constant_loss(exploration["label_counts"]["train"]),
        probe_images=spread_sample(arrays["train"][0], PROBE_IMAGES),
    )
    ctx = RunContext(config, arrays, datasets, exploration["test_size"] > 0,
                   len(split.class_names), watch, out, echo)

    models = {}
    for number in sorted(config.models):
        if number == 5:
            models["model5"] = train_beyond(split, arrays, weights.path, out, echo)
            continue
        weights_path = weights.path if number == 4 else None
        models[f"model{number}"] = train_model(number, weights_path, ctx)

    plot_all(models, out, base["accuracy"]["validation"])
    best = best_model(models)
    mark_best_model_choice(models)
    machine = machine_info()
    metrics = {
        "format": "pawlite-metrics/2",
        "run": config.to_json(),
        "study_seconds": round(time.perf_counter() - start, 3),
        "exploration": exploration,
        "models": models,
        "best_model": {"name": best, "test_accuracy": models[best]["test_accuracy"]},
        "dataset": identity.to_json(),
        "study_reported": STUDY if identity.is_study else None,
        "data": {"source": split.data_source, "sha256": split.dataset_sha256,
                 "root": str(split.data_root), "split_seed": split.seed},
        "base_weights": weights.to_json() if weights else None,
        "cpu": machine["cpu"],
        "versions": machine["versions"],
        "runtime": machine["runtime"],
        "notes": NOTES,
    }
    write_metrics(metrics, out / "metrics.json")
    write_report(metrics, out / "report.md")
    echo(summary_table(metrics))
    return metrics
