"""The report's sections about runs rather than models: collapses, seeds, attempts, machine.

A number is only meaningful with the seed that made it, the attempts that collapsed before
it, the spread over seeds and the machine it ran on.
"""

from __future__ import annotations

from train.machine import REPRODUCIBLE


def pct(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{100 * x:.{digits}f}%"


def study_range(r: list[float]) -> str:
    return f"~{100 * r[0]:.0f}%" if r[0] == r[1] else f"{100 * r[0]:.0f}-{100 * r[1]:.0f}%"


def collapsed(m: dict) -> bool:
    return m.get("status") == "collapsed"


def collapse_lines(m: dict) -> list[str]:
    """What a collapsed run tells us: how it was recognised and why it likely happened."""
    c = m["collapse"]
    tries = len(m.get("attempts", [])) or 1
    return [
        f"**Collapsed** (seed {m['seed']}, stopped at epoch {c['epoch']}): training accuracy "
        f"{pct(c['train_accuracy'])} against a majority baseline of "
        f"{pct(c['majority_accuracy'])}, loss {c['loss']:.4f} against the constant "
        f"predictor's {c['constant_loss']:.4f}. Its numbers are not the architecture's and are "
        "not compared with the study.",
        f"Likely cause: {c['cause']}.",
        f"All {tries} attempt(s) collapsed; rerun with other --seeds or more --collapse-retries.",
    ]


def mean_and_range(s: dict | None) -> tuple[str, str]:
    if not s:
        return "n/a", "n/a"
    return pct(s["mean"]), f"{pct(s['min'])}-{pct(s['max'])}"


def seeds_table(models: dict, study: dict | None) -> list[str]:
    """Per model over its seeds: mean and range of the runs that trained, and the collapses."""
    head = ["model", "seeds", "trained", "collapsed attempts", "val acc mean", "val acc range",
            *(["study val acc"] if study else []), "test acc mean", "test acc range"]
    rows = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for name, m in models.items():
        s = m["seeds"]
        val, test = mean_and_range(s["val_accuracy"]), mean_and_range(s["test_accuracy"])
        cells = [name, ", ".join(map(str, s["requested"])), f"{s['trained']}/{len(s['runs'])}",
                 str(s["collapses"]), *val, *([study_range(study[name]["val_accuracy"])] if study
                                              else []), *test]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def attempts_table(models: dict) -> list[str]:
    """Every training attempt, collapsed or not, so a retry is never hidden."""
    rows = ["| model | requested seed | seed | attempt | epochs run | stopped | val acc "
            "| why |", "|---|---|---|---|---|---|---|---|"]
    for name, m in models.items():
        for a in m["attempts"]:
            rows.append(
                f"| {name} | {a['requested_seed']} | {a['seed']} | {a['attempt']} "
                f"| {a['epochs_run']} | {a['stopped']} | {pct(a['final_val_accuracy'])} "
                f"| {a['why']} |")
    return rows


def seeds_section(metrics: dict, study: dict | None) -> list[str]:
    """The study's models over seeds; model5's seeds are in its own section."""
    models = {k: m for k, m in metrics["models"].items() if k != "model5"}
    many = len(metrics["run"]["seeds"]) > 1
    retried = any(len(m["attempts"]) > len(m["seeds"]["runs"]) for m in models.values())
    lines = []
    if many:
        lines += ["## Across seeds", "",
                  "Each model trained once per seed on the same split; only runs that trained "
                  "enter the mean and range. The per-model plots show the mean with the "
                  "min-max band.", "", *seeds_table(models, study), ""]
    if many or retried:
        lines += ["## Attempts", "",
                  "A collapsed attempt is stopped and retried with the next seed: the smallest "
                  "integer above it that is neither a requested seed nor already used by that "
                  f"model, at most {metrics['run']['collapse_retries']} time(s) per requested "
                  "seed.", "", *attempts_table(models), ""]
    return lines


def machine_lines(metrics: dict) -> list[str]:
    cpu = metrics["cpu"]
    avx512 = "AVX-512 (" + ", ".join(cpu["avx512"]) + ")" if cpu["avx512"] else "no AVX-512"
    return [
        "## Reproducibility",
        "",
        REPRODUCIBLE,
        "",
        f"- CPU: {cpu['model']}, {cpu['cores']} cores, {'AVX2' if cpu['avx2'] else 'no AVX2'}, "
        f"{avx512}.",
        "- Runtime: " + ", ".join(f"{k} {v}" for k, v in metrics["runtime"].items()) + ".",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in metrics["versions"].items()) + ".",
        "",
    ]
