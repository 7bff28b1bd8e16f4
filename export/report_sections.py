"""The sections of parity.md that say why: why this Keras model was converted, why this file is
bundled, and the pictures of the errors (linked by file name: they sit beside parity.md)."""

from __future__ import annotations


def pct(x) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def choice_section(choice: dict | None) -> list[str]:
    if not choice:
        return []
    return [f"Converted **{choice['model']}**: {choice['reason']}."]


def bundle_section(bundle: dict | None) -> list[str]:
    """Why `export bundle` shipped this model: the paired test it passed or the baseline kept,
    and its accuracy on the images that chose nothing about it."""
    if not bundle:
        return []
    from edge.stats import Accuracy

    out = ["## Why this model is bundled", "",
           f"`{bundle['file']}` is {bundle['model']}'s {bundle['variant']} export: "
           f"{bundle['reason']}.", ""]
    if "comparisons" not in bundle:
        return out
    out += [f"Rule: the baseline is {bundle['baseline']}; another exported model that passed its "
            "gate replaces it only when McNemar's exact test on their per-image TFLite answers "
            "says it is better beyond chance (5% level, Holm-corrected over the challengers), "
            "on the first split (validation, then test) that took part in no choice about "
            "either model (metrics.json's `chosen_on`).", ""]
    out += [f"- {c['text']}." for c in bundle["comparisons"]]
    if bundle["comparisons"]:
        out.append("")
    unbiased = bundle.get("unbiased")
    if unbiased:
        out += [f"Accuracy of the bundled model (TFLite through edge): "
                f"{Accuracy.from_json(unbiased).text()}.", ""]
    else:
        test = Accuracy.from_json(bundle["accuracy"]["test"])
        out += [f"No split is free of choices about the bundled model, so every accuracy of it "
                f"here is optimistic; on the test split: {test.text()}.", ""]
    used = bundle.get("decided_on") or []
    if used:
        out += [f"The {' and the '.join(used)} split{'s' if len(used) > 1 else ''} used for "
                f"this choice {'have' if len(used) > 1 else 'has'} now also chosen the bundled "
                "model: a later claim about it, or a later comparison with it, needs images "
                "that took no part.", ""]
    out += ["| model | gate | validation split (TFLite; n; 95% CI) | test split (TFLite; n; "
            "95% CI) | chosen on | agreement | note |", "|---|---|---|---|---|---|---|"]
    for c in bundle["candidates"]:
        acc = {s: Accuracy.from_json(a).short() for s, a in c["accuracy"].items()}
        chose = "; ".join(f"{s}: {', '.join(v)}" for s, v in c["chosen_on"].items() if v)
        out.append(f"| {c['model']} | {'passed' if c['passed'] else '**failed**'} | "
                   f"{acc['validation']} | {acc['test']} | {chose or 'nothing'} | "
                   f"{pct(c['agreement'])} | {c['note']} |")
    return out + [""]


def pictures_section(report: dict) -> list[str]:
    """The figures of each checked model, linked by file name (they sit beside parity.md)."""
    out = ["## The errors as pictures", ""]
    for row in report["variants"]:
        figures = row.get("figures")
        if not figures:
            continue
        files, counts = figures["files"], figures["counts"]
        rel = figures["reliability"]
        bins = rel["keras"]["bins"]
        out += [f"### {row['variant']}", "",
                f"![confusion matrices, Keras and {row['variant']}]({files['confusion']})", "",
                f"Calibration on the validation folder ({rel['keras']['n']} images; "
                f"{len(bins)} equal-width bins of top-1 confidence from {bins[0]['low']:.2f} "
                f"to {bins[-1]['high']:.2f}): expected calibration error (mean |accuracy - "
                f"confidence| over the bins, weighted by their images) Keras "
                f"{100 * rel['keras']['ece']:.2f}%, {row['variant']} "
                f"{100 * rel['tflite']['ece']:.2f}%.", "",
                f"![reliability diagram]({files['reliability']})", ""]
        variant = row["variant"]
        for key, what in (("errors", f"images Keras or {variant} gets wrong"),
                          ("disagreements", f"images {variant} answers differently from Keras")):
            if files[key]:
                out += [f"{counts[key]} {what} (validation folder, most confident {variant} "
                        "answer first; green: right, red: wrong; [test]: in the test split):",
                        "",
                        f"![{what}]({files[key]})", ""]
            else:
                out += [f"No {what} on the validation folder.", ""]
    return out if len(out) > 2 else []
