"""The report's section for model5: beyond the study, so kept apart from the study's tables.

model5 is the study's model4 fine-tuned (`train.finetune`); its numbers answer "how good can
this get", not "does the study reproduce", and they never enter the study's comparisons or
its choice of best model.
"""

from __future__ import annotations

from train.report_runs import attempts_table, collapse_lines, collapsed, mean_and_range, pct

STUDY_MODELS = ("model1", "model2", "model3", "model4")
BEYOND_TITLE = "## Beyond the study: model5 (not part of the study)"


def study_models(models: dict) -> dict:
    return {k: m for k, m in models.items() if k in STUDY_MODELS}


def beyond_models(models: dict) -> dict:
    return {k: m for k, m in models.items() if k not in STUDY_MODELS}


def _how(m: dict) -> str:
    f = m["fine_tune"]
    return (f"model4's trained weights, then MobileNetV2 unfrozen from `{f['from_layer']}` up "
            f"with every BatchNormalization layer frozen and in inference mode; Adam at "
            f"{f['learning_rate']:g}, at most {f['max_epochs']} epochs, stopped after "
            f"{f['patience']} without a gain, and the weights of the best validation epoch "
            "restored (`train/finetune.py` says why these choices). The test split chose "
            "nothing.")


def _origin(m: dict) -> str:
    origin = m["from_model4"]
    where = ("model4 trained in this run" if origin["source"] == "this run"
             else f"`{origin['source']}` of an earlier run")
    return f"Started from {where}, seed {origin['seed']}."


def _count(accuracy: float | None, n: int) -> str:
    return "" if accuracy is None or not n else f" ({round(accuracy * n)}/{n})"


def _versus_model4(m: dict, model4: dict | None, sizes: dict) -> list[str]:
    epochs = len(m["history"]["val_accuracy"])
    why = m["attempts"][0]["why"] if len(m["attempts"]) == 1 else None
    kept = (f"Kept epoch {m['restored_epoch']} of {epochs}{f' ({why})' if why else ''}: "
            f"validation accuracy {pct(m['best_val_accuracy'])}"
            f"{_count(m['best_val_accuracy'], sizes['validation'])}, test accuracy "
            f"{pct(m['test_accuracy'])}{_count(m['test_accuracy'], sizes['test'])}")
    if model4 is None or collapsed(model4):
        return [kept + "."]
    val = m["best_val_accuracy"] - model4["final_val_accuracy"]
    test = m["test_accuracy"] - model4["test_accuracy"] if m["test_accuracy"] is not None \
        else None
    kept += (f"; model4 (seed {model4['seed']}) ended at {pct(model4['final_val_accuracy'])} and "
             f"{pct(model4['test_accuracy'])}: {100 * val:+.1f} points on validation")
    if test is not None:
        kept += f", {100 * test:+.1f} on test"
    return [kept + "."]


def _cost(m: dict) -> str:
    return (f"Training accuracy at the kept epoch "
            f"{pct(m['history']['accuracy'][m['restored_epoch'] - 1])}; "
            f"{m['params']['trainable']:,} trainable of {m['params']['total']:,} parameters; "
            f"{m['seconds_per_epoch']:.1f} s per epoch, {m['wall_seconds'] / 60:.1f} min in all "
            f"(every seed).")


def _seed_line(m: dict) -> list[str]:
    s = m["seeds"]
    if len(s["runs"]) < 2:
        return []
    val, test = mean_and_range(s["val_accuracy"]), mean_and_range(s["test_accuracy"])
    return [f"Over seeds {', '.join(map(str, s['requested']))}: validation accuracy of the "
            f"kept epochs {val[0]} (range {val[1]}), test {test[0]} (range {test[1]})."]


def beyond_section(metrics: dict) -> list[str]:
    """Markdown lines for every model beyond the study; none when the run has none."""
    extra = beyond_models(metrics["models"])
    if not extra:
        return []
    lines = [BEYOND_TITLE, "",
             "**Not part of the study.** The study stops at a frozen base; model5 is the next "
             "step of the TensorFlow transfer-learning tutorial. Its numbers are not compared "
             "with the study's and it is never the study's best model.", ""]
    model4 = metrics["models"].get("model4")
    sizes = {k: sum(v.values()) for k, v in metrics["exploration"]["label_counts"].items()}
    for name, m in extra.items():
        lines += [f"### {name}: {m['architecture']}", ""]
        if collapsed(m):
            body = collapse_lines(m)
        else:
            body = [_how(m), _origin(m), *_versus_model4(m, model4, sizes), _cost(m),
                    *_seed_line(m)]
        lines += [f"- {line}" for line in body]
        if m.get("added"):
            lines.append(f"- Added to this run later: `{m['added']['command']}` on "
                         f"{m['added']['cpu']['model']} ({m['added']['cpu']['cores']} cores).")
        lines += ["", f"![{name} accuracy]({m['files']['plot']})", ""]
        if len(m["attempts"]) > len(m["seeds"]["runs"]):
            lines += attempts_table({name: m}) + [""]
    return lines
