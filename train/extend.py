"""`--models 5` alone: add model5 to an earlier run, fine-tuned from that run's own model4.

Retraining model4 to fine-tune it would cost about six minutes per seed and give another
model4 than the one the run reports. This reads the run's model4.keras, its split.json (the
same split, never redrawn) and its metrics.json, fine-tunes, and adds model5 to that
metrics.json and report.md; every other model's entry is kept as it was.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path

from train.config import TrainConfig
from train.errors import PawliteError
from train.split import SPLIT_NAMES, Split

REQUIRED = ("model4.keras", "split.json", "metrics.json")


def check_run(out: Path) -> dict:
    """The earlier run's metrics, or a PawliteError saying what is missing and what to do."""
    missing = [name for name in REQUIRED if not (out / name).is_file()]
    metrics = None if missing else json.loads((out / "metrics.json").read_text())
    if metrics is not None and "model4" not in metrics.get("models", {}):
        missing = ["a model4 entry in metrics.json"]
    if missing:
        raise PawliteError(
            f"--models 5 fine-tunes the model4 of an earlier run, but {out} has no "
            f"{', '.join(missing)}. Train model4 first: `make train MODELS=4,5 ARTIFACTS={out}` "
            f"(python -m train --models 4,5 --out {out}), or point ARTIFACTS (--out) at a run "
            "that has model4.keras, split.json and metrics.json."
        )
    return metrics


def load_run_split(config: TrainConfig, out: Path) -> Split:
    """The run's split.json, relocated onto the data that --data-url/--data-dir gives here."""
    from train.prepare import locate_data

    root, _, digest = locate_data(config)
    path = out / "split.json"
    split = Split.load(path, data_root=root)
    if split.dataset_sha256 and digest and split.dataset_sha256 != digest:
        raise PawliteError(
            f"{path} was drawn from a dataset with sha256 {split.dataset_sha256}, but "
            f"{config.data_url} has sha256 {digest}. Point --data-url (DATA_URL) or --data-dir "
            "at the data of that run."
        )
    absent = [p for name in SPLIT_NAMES for p in split.paths(name) if not p.is_file()]
    if absent:
        raise PawliteError(
            f"{len(absent)} image(s) listed in {path} are not under {root} (first: "
            f"{absent[0]}). Point --data-url (DATA_URL) or --data-dir at the data of that run."
        )
    return split


def _add_command(config: TrainConfig) -> str:
    source = (f"--data-dir {config.data_dir}" if config.data_dir
              else f"--data-url {config.data_url}")
    seeds = ",".join(map(str, config.training_seeds))
    return (f"python -m train --models 5 --seeds {seeds} --fine-tune-epochs "
            f"{config.fine_tune_epochs} --fine-tune-learning-rate "
            f"{config.fine_tune_learning_rate:g} {source} --out {config.out}")


def add_model5(config: TrainConfig, echo: Callable[[str], None] = print) -> dict:
    """Fine-tune the run in `config.out`'s model4 into model5; returns the updated metrics."""
    import keras

    from train.collapse import constant_loss
    from train.download import sha256_of
    from train.machine import machine_info
    from train.report import summary_table, write_metrics, write_report
    from train.study import (
        PROBE_IMAGES,
        RunContext,
        decode_splits,
        plot_all,
        spread_sample,
        train_model,
    )
    from train.training import CollapseWatch

    out = Path(config.out)
    metrics = check_run(out)
    split = load_run_split(config, out)
    config = dataclasses.replace(config, image_size=tuple(split.image_size),
                                 batch_size=split.batch_size)
    model4_path = out / "model4.keras"
    echo(f"adding model5 to the run in {out}: fine-tuning its model4 "
         f"(seed {metrics['models']['model4']['seed']})")
    start = time.perf_counter()
    model4 = keras.models.load_model(model4_path)
    origin = {"weights": model4.get_weights(), "seed": metrics["models"]["model4"]["seed"],
              "source": str(model4_path), "sha256": sha256_of(model4_path)}
    keras.backend.clear_session()
    echo("decoding images (once) ...")
    arrays, datasets = decode_splits(config, split)
    exploration = metrics["exploration"]
    watch = CollapseWatch(
        majority_accuracy=exploration["baseline"]["accuracy"]["train"],
        constant_loss=constant_loss(exploration["label_counts"]["train"]),
        probe_images=spread_sample(arrays["train"][0], PROBE_IMAGES),
    )
    ctx = RunContext(config, arrays, datasets, len(arrays["test"][1]) > 0,
                   len(split.class_names), watch, out, echo)
    ctx.cache[("model4", "file")] = origin
    entry = train_model(5, None, ctx)
    entry["added"] = {"command": _add_command(config), "run": config.to_json(),
                      "seconds": round(time.perf_counter() - start, 3), **machine_info()}
    metrics["models"].pop("model5", None)
    metrics["models"]["model5"] = entry
    plot_all(metrics["models"], out, exploration["baseline"]["accuracy"]["validation"])
    write_metrics(metrics, out / "metrics.json")
    write_report(metrics, out / "report.md")
    echo(summary_table(metrics))
    return metrics
