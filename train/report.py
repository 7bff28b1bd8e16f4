"""metrics.json, report.md and the terminal summary: the study retold from our own numbers.

Every sentence of commentary is derived from the measured figures (gaps, trends, deltas against
the study), so a rerun with other results tells a different, still true, story.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from train.config import ADAM_DEFAULT_LEARNING_RATE, DEFAULT_COLLAPSE_RETRIES
from train.report_beyond import beyond_section, evidence, study_models
from train.report_runs import (
    collapse_lines,
    collapsed,
    machine_lines,
    mean_and_range,
    pct,
    seeds_section,
    study_range,
)
from train.seeds import kept_val_accuracy

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
READING = (
    "Each accuracy is given with its count and its 95% interval (Wilson). The study's models "
    "run a fixed number of epochs, so neither split chose anything about how they were made; "
    "the \"best epoch's\" column is hindsight and backs no claim. The validation split then "
    "chooses the study's best model, so the test split alone speaks for that choice "
    "(docs/protocol.md)."
)
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


def versus_study(value: float, reported: list[float]) -> str:
    low, high = reported
    if low - MATCH_TOLERANCE <= value <= high + MATCH_TOLERANCE:
        return f"in line with the study's {study_range(reported)}"
    diff = value - (high if value > high else low)
    side = "above" if diff > 0 else "below"
    return f"{abs(100 * diff):.1f} points {side} the study's {study_range(reported)}"


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


def _study(metrics: dict, name: str) -> dict | None:
    """The study's numbers for `name`, or None when the data is not the study's."""
    reported = metrics.get("study_reported")
    return reported.get(name) if reported else None


def commentary(name: str, m: dict, metrics: dict) -> list[str]:
    """Short, honest remarks about one model, each computed from its numbers."""
    if collapsed(m):
        return collapse_lines(m)
    study = _study(metrics, name) or {}
    epochs = len(m["history"]["val_accuracy"])
    first = (f"Validation accuracy ended at {pct(m['final_val_accuracy'])} (best "
             f"{pct(m['best_val_accuracy'])} at epoch {m['best_epoch']} of {epochs})")
    if study:
        first += f", {versus_study(m['final_val_accuracy'], study['val_accuracy'])}"
    lines = [
        first + ".",
        f"Training accuracy ended at {pct(m['final_train_accuracy'])}, a train-validation gap "
        f"of {100 * m['train_val_gap']:+.1f} points: {m['overfitting']}.",
    ]
    if "train_accuracy" in study:
        lines[-1] += f" The study saw training at ~{pct(study['train_accuracy'])}."
    trend = _trend(m["history"]["val_accuracy"])
    if trend:
        lines.append(f"Validation accuracy {trend}.")
    base = metrics["exploration"]["baseline"]["accuracy"]["validation"]
    if base is not None and m["final_val_accuracy"] <= base + MATCH_TOLERANCE:
        lines.append(f"That is no better than the majority-class baseline ({pct(base)}).")
    test = f"Test accuracy on the fixed test split: {pct(m['test_accuracy'])}"
    if "test_accuracy" in study:
        test += f" (study: {pct(study['test_accuracy'], 2)})"
    lines.append(test + ".")
    if "trainable_params" in study:
        lines.append(
            f"Trainable parameters: {m['params']['trainable']:,} counted from the model "
            f"(1280*64+64 + 64*2+2 = 82,114 at 160x160); the study's text says "
            f"{study['trainable_params']:,}, which its own code does not produce."
        )
    retried = [a for a in m.get("attempts", []) if a["stopped"] == "collapsed"]
    if retried:
        seeds = ", ".join(str(a["seed"]) for a in retried)
        lines.append(f"Reported from seed {m['seed']}, after collapsed attempt(s) with seed "
                     f"{seeds} (see Attempts).")
    return lines


def comparisons(models: dict, study: dict | None = STUDY) -> list[str]:
    """What each step of the study (augmentation, preprocessing, transfer) changed, vs the study.

    A pair with a collapsed model says nothing about the step, so it is left out.
    """
    steps = [
        ("model1", "model2", "augmentation + dropout after the first block"),
        ("model2", "model3", "MobileNetV2 preprocessing"),
        ("model3", "model4", "a frozen pretrained MobileNetV2 base"),
    ]
    out = []
    for a, b, what in steps:
        if a not in models or b not in models:
            continue
        if collapsed(models[a]) or collapsed(models[b]):
            out.append(f"{b} vs {a} ({what}): not compared, a collapsed run is involved.")
            continue
        ours = models[b]["final_val_accuracy"] - models[a]["final_val_accuracy"]
        line = f"{b} vs {a} ({what}): {100 * ours:+.1f} points of final validation accuracy"
        if study:
            mid = [sum(study[k]["val_accuracy"]) / 2 for k in (a, b)]
            line += f" (study: about {100 * (mid[1] - mid[0]):+.0f})"
        out.append(line + ".")
    return out


def best_model(models: dict) -> str:
    """Chosen by best validation accuracy among runs that trained; the test split never picks.

    Only the study's models compete: model5 is beyond the study.
    """
    models = study_models(models)
    trained = [k for k in models if not collapsed(models[k])] or list(models)
    return max(trained, key=lambda k: models[k]["best_val_accuracy"])


def write_metrics(metrics: dict, path: Path) -> Path:
    path.write_text(json.dumps(metrics, indent=1) + "\n")
    return path


def split_sizes(metrics: dict) -> dict[str, int]:
    return {k: sum(v.values()) for k, v in metrics["exploration"]["label_counts"].items()}


def _cell(m: dict, split: str, fallback: float | None, n: int | None) -> str:
    """`97.28% (786/808; 96.0-98.1)`: the accuracy with its count and 95% interval."""
    acc = evidence(m, split, n)
    return acc.short() if acc is not None else pct(fallback, 2)


def _results_table(models: dict, study: dict | None, sizes: dict) -> list[str]:
    head = ["model", "seed", "val acc, final (n; 95% CI)", "best epoch's",
            *(["study val acc"] if study else []),
            "train acc", "gap", "verdict", "test acc (n; 95% CI)", "trainable / total params",
            "s/epoch"]
    rows = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for name, m in models.items():
        cells = [name, str(m["seed"]),
                 _cell(m, "validation", m["final_val_accuracy"], sizes.get("validation")),
                 f"{pct(m['best_val_accuracy'])} (epoch {m['best_epoch']})",
                 *([study_range(study[name]["val_accuracy"])] if study else []),
                 pct(m["final_train_accuracy"]), f"{100 * m['train_val_gap']:+.1f}",
                 "**collapsed**" if collapsed(m) else m["overfitting"],
                 _cell(m, "test", m["test_accuracy"], sizes.get("test")),
                 f"{m['params']['trainable']:,} / {m['params']['total']:,}",
                 f"{m['seconds_per_epoch']:.1f}"]
        rows.append("| " + " | ".join(cells) + " |")
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
        + ", ".join(f"{k} {pct(v)}" for k, v in base["accuracy"].items()) + ".",
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


def _title(metrics: dict) -> str:
    if metrics.get("study_reported"):
        return "# Cats vs dogs: the four-model study, retold from our run"
    classes = list(metrics["exploration"]["label_counts"]["train"])
    return f"# The study's models on another dataset ({len(classes)} classes: {', '.join(classes)})"


def _dataset_lines(metrics: dict) -> list[str]:
    dataset = metrics.get("dataset") or {}
    if dataset.get("is_study", True):
        return []
    return [f"This is {dataset['reason']}, so the study's numbers are not shown: they were "
            "measured on cats vs dogs and say nothing about this data.", ""]


def render_report(metrics: dict) -> str:
    models = study_models(metrics["models"])
    run = metrics["run"]
    study = metrics.get("study_reported")
    seeds = ", ".join(map(str, run["seeds"]))
    lines = [
        _title(metrics),
        "",
        f"{run['epochs']} epochs, batch {run['batch_size']}, "
        f"split seed {metrics['data']['split_seed']}, "
        f"training seed(s) {seeds}, images {run['image_size'][0]}x{run['image_size'][1]}; "
        f"study wall time {metrics['study_seconds'] / 60:.1f} min.",
        "",
        *_dataset_lines(metrics),
        *_data_section(metrics),
        "## Results",
        "",
        READING,
        "",
        *_results_table(models, study, split_sizes(metrics)),
        "",
        "![validation accuracy of all models](comparison.png)",
        "",
        *[f"- {line}" for line in comparisons(models, study)],
        "",
    ]
    for name, m in models.items():
        lines += [f"### {name}: {ARCHITECTURES[name]}", ""]
        lines += [f"- {line}" for line in commentary(name, m, metrics)]
        lines += ["", f"![{name} accuracy]({m['files']['plot']})", ""]
    lines += seeds_section(metrics, study)
    lines += beyond_section(metrics)
    best = best_model(models)
    if collapsed(models[best]):
        verdict = "None: every model's runs collapsed, so no model is chosen."
    else:
        test = evidence(models[best], "test", split_sizes(metrics).get("test"))
        verdict = (f"{best}, chosen by validation accuracy (so the validation split now "
                   "backs no claim about that choice); test accuracy "
                   + (test.text() if test else pct(models[best]["test_accuracy"])) + ".")
    lines += [
        "## Best model",
        "",
        verdict,
        "",
        *machine_lines(metrics),
        "## How this run differs from the study, and how to redo it",
        "",
        *[f"- {note}" for note in metrics["notes"]],
        f"- Data: {_data_line(metrics['data'])}.",
        f"- Base weights: {_weights_line(metrics['base_weights'])}.",
        f"- Command: `{command_line(metrics['run'])}`.",
        *_learning_rate_line(metrics["run"]),
        "",
    ]
    return "\n".join(lines)


def _data_line(data: dict) -> str:
    digest = f"sha256 `{data['sha256']}`" if data["sha256"] else "a folder, no archive hash"
    return f"`{data['source']}` ({digest}), split seed {data['split_seed']}"


def _learning_rate_line(run: dict) -> list[str]:
    rate = run.get("learning_rate", ADAM_DEFAULT_LEARNING_RATE)
    if rate == ADAM_DEFAULT_LEARNING_RATE:
        return []
    return [f"- Learning rate {rate:g}, set through the Python API (`TrainConfig.learning_rate`); "
            f"the study uses Adam's default {ADAM_DEFAULT_LEARNING_RATE:g}."]


def command_line(run: dict) -> str:
    """The `python -m train` call that redoes this run."""
    source = f"--data-dir {run['data_dir']}" if run["data_dir"] else f"--data-url {run['data_url']}"
    seeds = run.get("seeds") or [run["seed"]]
    extra = f" --seeds {','.join(map(str, seeds))}" if seeds != [run["seed"]] else ""
    if run.get("collapse_retries", DEFAULT_COLLAPSE_RETRIES) != DEFAULT_COLLAPSE_RETRIES:
        extra += f" --collapse-retries {run['collapse_retries']}"
    command = (
        f"python -m train --models {','.join(map(str, run['models']))} --epochs {run['epochs']} "
        f"--seed {run['seed']}{extra} --base-weights {run['base_weights']} {source} "
        f"--out {run['out']}"
    )
    return command


def _weights_line(weights: dict | None) -> str:
    if weights is None:
        return "not used (model4 not run)"
    return f"`{weights['spec']}` -> `{weights['path']}` (sha256 `{weights['sha256']}`)"


def write_report(metrics: dict, path: Path) -> Path:
    path.write_text(render_report(metrics))
    return path


def _test_cell(m: dict, n: int | None) -> str:
    acc = evidence(m, "test", n)
    if acc is None:
        return pct(m["test_accuracy"])
    lo, hi = acc.interval
    return f"{pct(acc.value)} [{100 * lo:.1f}-{100 * hi:.1f}]"


def summary_table(metrics: dict) -> str:
    """The plain-text table printed at the end of a run; the study column only for its data."""
    study = metrics.get("study_reported")
    header = f"{'model':<7} {'seed':>5} {'val':>7} {'best':>7} "
    header += f"{'study':>8} " if study else ""
    header += (f"{'train':>7} {'test (95% CI)':>21} {'gap':>6}  {'trainable':>10} "
               f"{'s/epoch':>8}  verdict")
    rows = [header, "-" * len(header)]
    for name, m in metrics["models"].items():
        seed = "-" if m["seed"] is None else m["seed"]
        row = (f"{name:<7} {seed:>5} {pct(kept_val_accuracy(m)):>7} "
               f"{pct(m['best_val_accuracy']):>7} ")
        if study:
            row += f"{study_range(study[name]['val_accuracy']) if name in study else 'beyond':>8} "
        verdict = "COLLAPSED: " + m["collapse"]["cause"] if collapsed(m) else m["overfitting"]
        per_epoch = m.get("seconds_per_epoch")
        test = _test_cell(m, split_sizes(metrics).get("test"))
        row += (f"{pct(m['final_train_accuracy']):>7} {test:>21} "
                f"{100 * m['train_val_gap']:>+6.1f}  {m['params']['trainable']:>10,} "
                f"{'-' if per_epoch is None else f'{per_epoch:.1f}':>8}  {verdict}")
        rows.append(row)
    for name, m in metrics["models"].items():
        s = m.get("seeds")
        if s is None:
            continue
        if len(s["runs"]) > 1 or s["collapses"]:
            mean, spread = mean_and_range(s["val_accuracy"])
            rows.append(f"{name} over seeds {','.join(map(str, s['requested']))}: val mean {mean} "
                        f"(range {spread}), {s['trained']}/{len(s['runs'])} trained, "
                        f"{s['collapses']} collapsed attempt(s)")
    if not study:
        rows.append(f"dataset: {metrics['dataset']['reason']}; the study's numbers are not shown")
    rows.append(f"total wall time {metrics['study_seconds']:.0f}s; python {sys.version.split()[0]}")
    return "\n".join(rows)
