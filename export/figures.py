"""The parity report's pictures: where each model goes wrong, and whether its confidence holds.

Written next to parity.md (and linked from it by file name, so `bundle` can copy the folder's
pictures with it): per checked variant, the confusion matrices of Keras and the TFLite model on
the test split and the validation folder, a contact sheet of every image either model gets
wrong, one of every image they answer differently, and a reliability diagram. Thumbnails show
the model's input (`Evaluated.load`, edge's `Classifier.load`), i.e. what the model saw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from export.calibration import reliability
from export.contact_sheet import NOTE, PLAIN, RIGHT, WRONG, Tile, contact_sheet
from export.report import confusion_matrix


@dataclass(frozen=True)
class Evaluated:
    """One checked model on the validation folder, in parity order (validation, then test)."""

    variant: str
    paths: list[Path]
    labels: np.ndarray
    n_test: int
    class_names: tuple[str, ...]
    keras: np.ndarray
    tflite: np.ndarray
    load: Callable[[Path], np.ndarray]

    def predicted(self, probs: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(probs).any(axis=1), -1,
                        np.nan_to_num(probs, nan=-1.0).argmax(axis=1))


def write_figures(ev: Evaluated, out: Path) -> dict:
    """Draw every picture for `ev` under `out`; returns parity.json's `figures` entry: the file
    names (relative to `out`), the images on each sheet, and the reliability numbers."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    keras, tflite = ev.predicted(ev.keras), ev.predicted(ev.tflite)
    wrong = np.flatnonzero((keras != ev.labels) | (tflite != ev.labels))
    changed = np.flatnonzero(keras != tflite)
    names = {"confusion": f"confusion_{ev.variant}.png",
             "errors": f"errors_{ev.variant}.jpg",
             "disagreements": f"disagreements_{ev.variant}.jpg",
             "reliability": f"reliability_{ev.variant}.png"}
    confusion_figure(ev, out / names["confusion"])
    rel = {"keras": reliability(ev.keras, ev.labels), "tflite": reliability(ev.tflite, ev.labels)}
    reliability_figure(rel, ev, out / names["reliability"])
    sheets = {"errors": (wrong, f"Every image Keras or {ev.variant} gets wrong: {len(wrong)} of "
                                f"{len(ev.labels)} (validation folder)"),
              "disagreements": (changed, f"Every image {ev.variant} answers differently from "
                                         f"Keras: {len(changed)} of {len(ev.labels)}")}
    counts = {}
    for key, (indices, title) in sheets.items():
        counts[key] = len(indices)
        if len(indices):
            order = sorted(indices, key=lambda i: -_confidence(ev.tflite[i]))
            contact_sheet([tile(ev, i) for i in order], out / names[key], title)
        else:
            (out / names[key]).unlink(missing_ok=True)  # an earlier run's sheet
            names[key] = None
    return {"files": names, "counts": counts, "reliability": {"set": "validation_folder",
                                                             **rel}}


def _confidence(row: np.ndarray) -> float:
    return -1.0 if np.isnan(row).any() else float(row.max())


def _answer(who: str, probs: np.ndarray, label: int, names) -> tuple[str, tuple]:
    if np.isnan(probs).any():
        return f"{who}: unreadable", WRONG
    guess = int(probs.argmax())
    return f"{who}: {names[guess]} {probs[guess]:.0%}", RIGHT if guess == label else WRONG


def tile(ev: Evaluated, i: int) -> Tile:
    """Image `i` as the model saw it; caption: truth, the TFLite and Keras answers, the file
    (marked [test] when it is in the test split)."""
    from edge.errors import EdgeError

    try:
        image = ev.load(ev.paths[i])
    except (EdgeError, OSError):
        image = np.full((32, 32, 3), 200, np.uint8)
    label = int(ev.labels[i])
    where = " [test]" if i >= len(ev.labels) - ev.n_test else ""
    return Tile(image, (
        (f"true: {ev.class_names[label]}", PLAIN),
        _answer(ev.variant, ev.tflite[i], label, ev.class_names),
        _answer("Keras", ev.keras[i], label, ev.class_names),
        (f"{Path(ev.paths[i]).name}{where}", NOTE),
    ))


def confusion_figure(ev: Evaluated, path: Path) -> None:
    """A 2 x 2 grid: rows test split / validation folder, columns Keras / TFLite; each cell
    shows its count and its share of the true class (the colour)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = len(ev.class_names)
    test = slice(len(ev.labels) - ev.n_test, None)
    sets = (("test split", test), ("validation folder", slice(None)))
    side = 2.6 + 0.45 * k
    fig, axes = plt.subplots(2, 2, figsize=(2 * side, 2 * side), squeeze=False)
    for r, (set_name, part) in enumerate(sets):
        labels = ev.labels[part]
        for c, (who, probs) in enumerate((("Keras", ev.keras), (ev.variant, ev.tflite))):
            matrix = confusion_matrix(labels, ev.predicted(probs[part]), k)
            _matrix_axes(axes[r][c], matrix, ev.class_names,
                         f"{who}, {set_name}: {np.trace(matrix)} of {len(labels)} right")
    fig.suptitle("Confusion matrices (rows: true class, columns: predicted)", fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _matrix_axes(ax, matrix: np.ndarray, names, title: str) -> None:
    share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    k = len(names)
    for t in range(k):
        for p in range(k):
            ax.text(p, t, str(matrix[t, p]), ha="center", va="center",
                    fontsize=14 if k <= 4 else 8,
                    color="white" if share[t, p] > 0.5 else ("firebrick" if t != p and
                                                             matrix[t, p] else "black"))
    ax.set_xticks(range(k), names, rotation=0 if k <= 4 else 90)
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)


def reliability_figure(rel: dict, ev: Evaluated, path: Path) -> None:
    """Accuracy against mean confidence per bin for Keras and TFLite, the diagonal being
    perfect calibration, over a bar chart of how many images each bin holds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 6.4), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 1.2]})
    bins = rel["keras"]["bins"]
    low, high = bins[0]["low"], bins[-1]["high"]
    top.plot([low, high], [low, high], color="grey", linestyle="--", label="perfect calibration")
    width = (high - low) / len(bins)
    series = (("Keras", "keras", "tab:blue"), (ev.variant, "tflite", "tab:orange"))
    for shift, (who, key, colour) in zip((-0.2, 0.2), series, strict=True):
        used = [b for b in rel[key]["bins"] if b["n"]]
        top.plot([b["confidence"] for b in used], [b["accuracy"] for b in used], marker="o",
                 color=colour, label=f"{who}: ECE {100 * rel[key]['ece']:.2f}%")
        centres = [(b["low"] + b["high"]) / 2 + shift * width for b in rel[key]["bins"]]
        bottom.bar(centres, [b["n"] for b in rel[key]["bins"]], width=0.4 * width,
                   color=colour)
    top.set_ylabel("accuracy in the bin")
    top.set_ylim(min(low, *(b["accuracy"] for k in ("keras", "tflite")
                            for b in rel[k]["bins"] if b["n"])) - 0.02, 1.01)
    top.legend(loc="upper left", fontsize=9)
    top.set_title(f"Reliability, validation folder ({rel['keras']['n']} images), {len(bins)} "
                  f"bins of top-1 confidence\nECE: mean |accuracy - confidence| weighted by "
                  "the images in each bin", fontsize=10)
    bottom.set_yscale("log")
    bottom.set_ylabel("images")
    bottom.set_xlabel("top-1 confidence")
    bottom.set_xlim(low, high)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
