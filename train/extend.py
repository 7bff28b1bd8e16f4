"""`--models 5` alone: add model5 to an earlier run without training the study again.

model5 (`train.feature_head`) needs only the run's split.json (the same split and folds, never
redrawn), the base weights and the images; it is added to that run's metrics.json and
report.md, and every other model's entry is kept as it was.
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

REQUIRED = ("split.json", "metrics.json")


def check_run(out: Path) -> dict:
    """The earlier run's metrics, or a PawliteError saying what is missing and what to do."""
    missing = [name for name in REQUIRED if not (out / name).is_file()]
    if missing:
        raise PawliteError(
            f"--models 5 alone adds model5 to an earlier run, but {out} has no "
            f"{', '.join(missing)}. Train with model5 from the start: `make train "
            f"MODELS=4,5 ARTIFACTS={out}` (python -m train --models 4,5 --out {out}), or point "
            "ARTIFACTS (--out) at a run that has split.json and metrics.json."
        )
    return json.loads((out / "metrics.json").read_text())


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
    return (f"python -m train --models 5 --base-weights {config.base_weights} {source} "
            f"--out {config.out}")


def add_model5(config: TrainConfig, echo: Callable[[str], None] = print) -> dict:
    """Train model5 on the run in `config.out`; returns the updated metrics."""
    from train.dataset import load_arrays
    from train.machine import machine_info
    from train.models import resolve_base_weights
    from train.report import summary_table, write_metrics, write_report
    from train.study import train_beyond

    out = Path(config.out)
    metrics = check_run(out)
    split = load_run_split(config, out)
    config = dataclasses.replace(config, image_size=tuple(split.image_size),
                                 batch_size=split.batch_size)
    weights = resolve_base_weights(config.base_weights)
    echo(f"adding model5 to the run in {out}")
    start = time.perf_counter()
    echo("decoding images (once) ...")
    arrays = {name: load_arrays(split, name, config.image_size) for name in SPLIT_NAMES}
    entry = train_beyond(split, arrays, weights.path, out, echo)
    entry["added"] = {"command": _add_command(config), "run": config.to_json(),
                      "base_weights": weights.to_json(),
                      "seconds": round(time.perf_counter() - start, 3), **machine_info()}
    metrics["models"].pop("model5", None)
    metrics["models"]["model5"] = entry
    write_metrics(metrics, out / "metrics.json")
    write_report(metrics, out / "report.md")
    echo(summary_table(metrics))
    return metrics
