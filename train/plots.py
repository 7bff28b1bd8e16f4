"""Accuracy curves drawn from the saved histories: one plot per model and one comparison."""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _epochs(history: dict) -> list[int]:
    return list(range(1, len(history["val_accuracy"]) + 1))


def plot_accuracy(history: dict, path: Path, title: str) -> Path:
    """Training vs validation accuracy per epoch: the gap between the curves is the overfit."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    epochs = _epochs(history)
    ax.plot(epochs, history["accuracy"], marker="o", label="training accuracy")
    ax.plot(epochs, history["val_accuracy"], marker="o", label="validation accuracy")
    ax.set(title=title, xlabel="epoch", ylabel="accuracy", ylim=(0, 1.02))
    return _save(plt, fig, ax, path)


def plot_comparison(histories: dict[str, dict], path: Path, baseline: float | None = None) -> Path:
    """Validation accuracy of every model per epoch on one plot, with the majority baseline."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, history in histories.items():
        ax.plot(_epochs(history), history["val_accuracy"], marker="o", label=name)
    if baseline is not None:
        ax.axhline(baseline, color="grey", linestyle="--", label="majority-class baseline")
    ax.set(title="Validation accuracy per epoch", xlabel="epoch", ylabel="accuracy")
    ax.set_ylim(0, 1.02)
    return _save(plt, fig, ax, path)


def _save(plt, fig, ax, path: Path) -> Path:
    """The finish both plots share: grid, legend, written at a size that embeds well in Markdown."""
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
