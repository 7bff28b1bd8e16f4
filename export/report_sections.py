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
    """Why `export bundle` shipped this model rather than another exported one."""
    if not bundle:
        return []
    out = ["## Why this model is bundled", "",
           f"`{bundle['file']}` is {bundle['model']}'s {bundle['variant']} export: "
           f"{bundle['reason']}.", "",
           "| model | gate | accuracy on the validation split (TFLite) | agreement | note |",
           "|---|---|---|---|---|"]
    out += [f"| {c['model']} | {'passed' if c['passed'] else '**failed**'} | "
            f"{pct(c['validation_accuracy'])} | {pct(c['agreement'])} | {c['note']} |"
            for c in bundle["candidates"]]
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
