"""metrics.json, report.md and the terminal summary: the study retold from our own numbers.

Every sentence of commentary is derived from the measured figures (gaps, trends, deltas against
the study), so a rerun with other results tells a different, still true, story.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

# What the study reported, to print beside ours (validation accuracy as a [low, high] range).
STUDY = {
    "model1": {"val_accuracy": [0.67, 0.69], "train_accuracy": 0.97},
    "model2": {"val_accuracy": [0.61, 0.63]},
    "model3": {"val_accuracy": [0.73, 0.73]},
    "model4": {"val_accuracy": [0.97, 0.97], "test_accuracy": 0.9896, "trainable_params": 38492},
}
ARCHITECTURES = {
    "model1": "3x(Conv2D+MaxPool), Dropout(0.2), Flatten, Dense(64), Dense(2)",
    "model2": "RandomFlip+RandomRotation(0.2), conv blocks with Dropout(0.2) after the first",
    "model3": "MobileNetV2 preprocess_input (to [-1, 1]) in front of model2",
    "model4": "preprocess, flip+rotation, frozen MobileNetV2, GlobalMaxPool, Dropout(0.2), "
    "Dense(64), Dense(2)",
}
OVERFIT_GAP = 0.10
MILD_GAP = 0.04
MATCH_TOLERANCE = 0.02
TREND_EPOCHS = 3


def overfitting_verdict(gap: float) -> str:
    """From the final train-minus-validation accuracy gap."""
    if gap >= OVERFIT_GAP:
        return "overfits"
    if gap >= MILD_GAP:
        return "mild overfitting"
    if gap <= -MILD_GAP:
        return "no overfitting (validation above training)"
    return "no overfitting"


def library_versions() -> dict[str, str]:
    import keras
    import matplotlib
    import numpy
    import PIL
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "matplotlib": matplotlib.__version__,
        "pillow": PIL.__version__,
        "platform": platform.platform(),
    }


def runtime_info() -> dict:
    """What decides the speed: cores, TF threads, and whether oneDNN kernels were switched on."""
    import tensorflow as tf

    return {
        "cpu_count": os.cpu_count(),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
    }


def _pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{100 * x:.{digits}f}%"


def _range(r: list[float]) -> str:
    return f"~{100 * r[0]:.0f}%" if r[0] == r[1] else f"{100 * r[0]:.0f}-{100 * r[1]:.0f}%"


def versus_study(value: float, reported: list[float]) -> str:
    low, high = reported
    if low - MATCH_TOLERANCE <= value <= high + MATCH_TOLERANCE:
        return f"in line with the study's {_range(reported)}"
    diff = value - (high if value > high else low)
    side = "above" if diff > 0 else "below"
    return f"{abs(100 * diff):.1f} points {side} the study's {_range(reported)}"


def _trend(val: list[float]) -> str | None:
    if len(val) < 2 * TREND_EPOCHS:
        return None
    late = sum(val[-TREND_EPOCHS:]) / TREND_EPOCHS
    early = sum(val[-2 * TREND_EPOCHS : -TREND_EPOCHS]) / TREND_EPOCHS
    if late - early > 0.01:
        return "was still rising over the last epochs: more epochs would likely help"
    if early - late > 0.01:
        return "fell over the last epochs"
    return "had levelled off by the end"


def commentary(name: str, m: dict, metrics: dict) -> list[str]:
    """Short, honest remarks about one model, each computed from its numbers."""
    study = STUDY[name]
    epochs = len(m["history"]["val_accuracy"])
    lines = [
        f"Validation accuracy ended at {_pct(m['final_val_accuracy'])} (best "
        f"{_pct(m['best_val_accuracy'])} at epoch {m['best_epoch']} of {epochs}), "
        f"{versus_study(m['final_val_accuracy'], study['val_accuracy'])}.",
        f"Training accuracy ended at {_pct(m['final_train_accuracy'])}, a train-validation gap "
        f"of {100 * m['train_val_gap']:+.1f} points: {m['overfitting']}.",
    ]
    if "train_accuracy" in study:
        lines[-1] += f" The study saw training at ~{_pct(study['train_accuracy'])}."
    trend = _trend(m["history"]["val_accuracy"])
    if trend:
        lines.append(f"Validation accuracy {trend}.")
    base = metrics["exploration"]["baseline"]["accuracy"]["validation"]
    if base is not None and m["final_val_accuracy"] <= base + MATCH_TOLERANCE:
        lines.append(f"That is no better than the majority-class baseline ({_pct(base)}).")
    test = f"Test accuracy on the fixed test split: {_pct(m['test_accuracy'])}"
    if "test_accuracy" in study:
        test += f" (study: {_pct(study['test_accuracy'], 2)})"
    lines.append(test + ".")
    if "trainable_params" in study:
        lines.append(
            f"Trainable parameters: {m['params']['trainable']:,} counted from the model "
            f"(1280*64+64 + 64*2+2 = 82,114 at 160x160); the study's text says "
            f"{study['trainable_params']:,}, which its own code does not produce."
        )
    return lines


def comparisons(models: dict) -> list[str]:
    """What each step of the study (augmentation, preprocessing, transfer) changed, vs the study."""
    steps = [
        ("model1", "model2", "augmentation + dropout after the first block"),
        ("model2", "model3", "MobileNetV2 preprocessing"),
        ("model3", "model4", "a frozen pretrained MobileNetV2 base"),
    ]
    out = []
    for a, b, what in steps:
        if a in models and b in models:
            ours = models[b]["final_val_accuracy"] - models[a]["final_val_accuracy"]
            mid = [sum(STUDY[k]["val_accuracy"]) / 2 for k in (a, b)]
            out.append(
                f"{b} vs {a} ({what}): {100 * ours:+.1f} points of final validation accuracy "
                f"(study: about {100 * (mid[1] - mid[0]):+.0f})."
            )
    return out


def best_model(models: dict) -> str:
    """Chosen by best validation accuracy: the test split is only reported, never used to pick."""
    return max(models, key=lambda k: models[k]["best_val_accuracy"])


def write_metrics(metrics: dict, path: Path) -> Path:
    path.write_text(json.dumps(metrics, indent=1) + "\n")
    return path


def _results_table(models: dict) -> list[str]:
    rows = [
        "| model | val acc (final / best) | study val acc | train acc | gap | verdict "
        "| test acc | trainable / total params | s/epoch |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, m in models.items():
        study = STUDY[name]
        rows.append(
            f"| {name} | {_pct(m['final_val_accuracy'])} / {_pct(m['best_val_accuracy'])} "
            f"| {_range(study['val_accuracy'])} | {_pct(m['final_train_accuracy'])} "
            f"| {100 * m['train_val_gap']:+.1f} | {m['overfitting']} | {_pct(m['test_accuracy'])} "
            f"| {m['params']['trainable']:,} / {m['params']['total']:,} "
            f"| {m['seconds_per_epoch']:.1f} |"
        )
    return rows


def _data_section(metrics: dict) -> list[str]:
    ex = metrics["exploration"]
    classes = list(ex["label_counts"]["train"])
    lines = ["## Data", "", "| split | " + " | ".join(classes) + " | total |",
             "|---" * (len(classes) + 2) + "|"]
    for split, counts in ex["label_counts"].items():
        values = [str(counts[c]) for c in classes]
        lines.append(f"| {split} | " + " | ".join(values) + f" | {sum(counts.values())} |")
    base = ex["baseline"]
    lines += [
        "",
        f"Baseline (always answer the training majority, `{base['majority_class']}`): "
        + ", ".join(f"{k} {_pct(v)}" for k, v in base["accuracy"].items()) + ".",
        "",
        "![sample images](sample_grid.png)",
        "",
        f"Augmentation of `{ex['augment_image']}`:",
        "",
        "![RandomFlip](augment_flip.png)",
        "![RandomRotation](augment_rotation.png)",
        "",
    ]
    return lines


def render_report(metrics: dict) -> str:
    models = metrics["models"]
    run = metrics["run"]
    lines = [
        "# Cats vs dogs: the four-model study, retold from our run",
        "",
        f"{run['epochs']} epochs, batch {run['batch_size']}, seed {run['seed']}, "
        f"images {run['image_size'][0]}x{run['image_size'][1]}; "
        f"study wall time {metrics['study_seconds'] / 60:.1f} min.",
        "",
        *_data_section(metrics),
        "## Results",
        "",
        *_results_table(models),
        "",
        "![validation accuracy of all models](comparison.png)",
        "",
        *[f"- {line}" for line in comparisons(models)],
        "",
    ]
    for name, m in models.items():
        lines += [f"### {name}: {ARCHITECTURES[name]}", ""]
        lines += [f"- {line}" for line in commentary(name, m, metrics)]
        lines += ["", f"![{name} accuracy]({m['files']['plot']})", ""]
    best = best_model(models)
    lines += [
        "## Best model",
        "",
        f"{best} (chosen by validation accuracy): test accuracy "
        f"{_pct(models[best]['test_accuracy'])} on {metrics['exploration']['test_size']} "
        "held-out images.",
        "",
        "## How this run differs from the study, and how to redo it",
        "",
        *[f"- {note}" for note in metrics["notes"]],
        f"- Data: {_data_line(metrics['data'])}.",
        f"- Base weights: {_weights_line(metrics['base_weights'])}.",
        f"- Command: `{command_line(metrics['run'])}`.",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in metrics["versions"].items()) + ".",
        "- Runtime: " + ", ".join(f"{k} {v}" for k, v in metrics["runtime"].items()) + ".",
        "",
    ]
    return "\n".join(lines)


def _data_line(data: dict) -> str:
    digest = f"sha256 `{data['sha256']}`" if data["sha256"] else "a folder, no archive hash"
    return f"`{data['source']}` ({digest}), split seed {data['split_seed']}"


def command_line(run: dict) -> str:
    """The `python -m train` call that redoes this run."""
    source = f"--data-dir {run['data_dir']}" if run["data_dir"] else f"--data-url {run['data_url']}"
    return (
        f"python -m train --models {','.join(map(str, run['models']))} --epochs {run['epochs']} "
        f"--seed {run['seed']} --base-weights {run['base_weights']} {source} --out {run['out']}"
    )


def _weights_line(weights: dict | None) -> str:
    if weights is None:
        return "not used (model4 not run)"
    return f"`{weights['spec']}` -> `{weights['path']}` (sha256 `{weights['sha256']}`)"


def write_report(metrics: dict, path: Path) -> Path:
    path.write_text(render_report(metrics))
    return path


def summary_table(metrics: dict) -> str:
    """The plain-text table printed at the end of a run."""
    header = f"{'model':<7} {'val':>7} {'best':>7} {'study':>8} {'train':>7} {'test':>7} "
    header += f"{'gap':>6}  {'trainable':>10} {'s/epoch':>8}  verdict"
    rows = [header, "-" * len(header)]
    for name, m in metrics["models"].items():
        rows.append(
            f"{name:<7} {_pct(m['final_val_accuracy']):>7} {_pct(m['best_val_accuracy']):>7} "
            f"{_range(STUDY[name]['val_accuracy']):>8} {_pct(m['final_train_accuracy']):>7} "
            f"{_pct(m['test_accuracy']):>7} {100 * m['train_val_gap']:>+6.1f}  "
            f"{m['params']['trainable']:>10,} {m['seconds_per_epoch']:>8.1f}  {m['overfitting']}"
        )
    rows.append(f"total wall time {metrics['study_seconds']:.0f}s; python {sys.version.split()[0]}")
    return "\n".join(rows)
