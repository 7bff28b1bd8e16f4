"""The report's section for model5: beyond the study, so kept apart from the study's tables.

model5 (`train.feature_head`) answers "how good can this get", not "does the study reproduce":
its numbers never enter the study's comparisons or its choice of best model. Every accuracy
here carries its 95% interval and says whether its images chose anything (docs/protocol.md);
a claim that model5 beats model4 is made only by McNemar's exact test on images that chose
nothing for either.
"""

from __future__ import annotations

from edge.stats import Accuracy, Paired
from train.report_runs import pct

STUDY_MODELS = ("model1", "model2", "model3", "model4")
BEYOND_TITLE = "## Beyond the study: model5 (not part of the study)"


def study_models(models: dict) -> dict:
    return {k: m for k, m in models.items() if k in STUDY_MODELS}


def beyond_models(models: dict) -> dict:
    return {k: m for k, m in models.items() if k not in STUDY_MODELS}


ACCURACY_KEYS = {"validation": "final_val_accuracy", "test": "test_accuracy"}


def evidence(m: dict, split: str, n: int | None = None) -> Accuracy | None:
    """The recorded Accuracy of `split`; for a run recorded before counts were kept, rebuilt
    from its accuracy and the split's size `n` (accuracy * n is a whole number of images)."""
    raw = (m.get("evidence") or {}).get(split)
    if raw:
        return Accuracy.from_json(raw)
    value = m.get(ACCURACY_KEYS.get(split, ""))
    if value is None or not n:
        return None
    return Accuracy(round(value * n), n, f"{split} split")


def versus(m: dict, model4: dict | None) -> list[str]:
    """The paired comparisons with model4 recorded in model5's entry, one line each."""
    lines = []
    for raw in (m.get("paired") or {}).values():
        p = Paired(raw["a"], raw["b"], raw["only_a"], raw["only_b"], raw["n"], raw["images"])
        lines.append(p.text() + ".")
    if not lines and model4 is not None:
        lines.append("Not compared image by image with model4 in this run (model4's "
                     "per-image answers were not available).")
    return lines


def _how(m: dict) -> list[str]:
    r, cv = m["recipe"], m["cross_validation"]
    grid = ", ".join(f"L2 {k}: {Accuracy.from_json(v).short()}"
                     for k, v in cv["penalties"].items())
    return [
        f"How: the frozen MobileNetV2 base ({r['image_size'][0]}x{r['image_size'][1]}), "
        f"{r['pooling']} pooling, a {r['head']} fit to convergence ({r['solver']}, "
        f"{r['iterations']} iterations) on the features of every training image and its "
        "mirror image. No epochs, so none to choose.",
        f"Its one setting, the L2 penalty, was chosen by {cv['folds']}-fold cross-validation "
        f"inside the training images ({cv['rule']}): {grid}. Chosen: {cv['chosen_l2']:g}. "
        "Those out-of-fold numbers chose the penalty, so they flatter it slightly.",
    ]


def _accuracies(m: dict) -> list[str]:
    out = []
    for split in ("validation", "test"):
        acc = evidence(m, split)
        if acc is not None:
            out.append(f"Accuracy {acc.text()}.")
    return out


def _cost(m: dict) -> str:
    return (f"Training accuracy {pct(m['final_train_accuracy'])}; "
            f"{m['params']['trainable']:,} trainable of {m['params']['total']:,} parameters; "
            f"{m['train_seconds']:.0f} s in all ({m['feature_seconds']:.0f} s of it computing "
            "features). On a device it costs what model4 costs: the same base at the same "
            "input size, and a smaller head.")


def beyond_section(metrics: dict) -> list[str]:
    """Markdown lines for every model beyond the study; none when the run has none."""
    extra = beyond_models(metrics["models"])
    if not extra:
        return []
    lines = [BEYOND_TITLE, "",
             "**Not part of the study.** Its numbers are not compared with the study's and it "
             "is never the study's best model. Whether it is bundled for the device is decided "
             "after export, by the rule in docs/protocol.md.", ""]
    model4 = metrics["models"].get("model4")
    for name, m in extra.items():
        lines += [f"### {name}: {m['architecture']}", ""]
        body = [*_how(m), *_accuracies(m), *versus(m, model4), _cost(m)]
        lines += [f"- {line}" for line in body]
        if m.get("added"):
            lines.append(f"- Added to this run later: `{m['added']['command']}` on "
                         f"{m['added']['cpu']['model']} ({m['added']['cpu']['cores']} cores).")
        lines.append("")
    return lines
