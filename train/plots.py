"""Accuracy curves drawn from the saved histories: one plot per model and one comparison."""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _curve(ax, histories: list[dict], key: str, label: str, offset: int = 0, **style) -> None:
    """One run as a line; several seeds as their mean with the min-max band around it.

    `offset` shifts the epochs: a run that continues another one's training starts after it.
    """
    if len(histories) == 1:
        epochs = list(range(offset + 1, offset + len(histories[0][key]) + 1))
        ax.plot(epochs, histories[0][key], marker="o", label=label, **style)
        return
    import numpy as np

    n = min(len(h[key]) for h in histories)
    values = np.array([h[key][:n] for h in histories])
    epochs = list(range(offset + 1, offset + n + 1))
    (line,) = ax.plot(epochs, values.mean(axis=0), marker="o",
                      label=f"{label} (mean of {len(histories)} seeds, band min-max)", **style)
    ax.fill_between(epochs, values.min(axis=0), values.max(axis=0), alpha=0.2,
                    color=line.get_color())


def plot_accuracy(histories: dict | list[dict], path: Path, title: str,
                  kept_epoch: int | None = None) -> Path:
    """Training vs validation accuracy per epoch: the gap between the curves is the overfit.

    A list of histories (one per seed) is drawn as means with their spread. `kept_epoch`
    (model5's restored epoch) marks it and zooms in: a point of accuracy is then visible.
    """
    histories = [histories] if isinstance(histories, dict) else histories
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    _curve(ax, histories, "accuracy", "training accuracy")
    _curve(ax, histories, "val_accuracy", "validation accuracy")
    low = 0.0
    if kept_epoch is not None:
        ax.axvline(kept_epoch, color="grey", linestyle=":", label=f"kept epoch ({kept_epoch})")
        lowest = min(min(h[k]) for h in histories for k in ("accuracy", "val_accuracy"))
        low = max(0.0, int(lowest * 50) / 50 - 0.02)
    ax.set(title=title, xlabel="epoch", ylabel="accuracy", ylim=(low, 1.0 + (1 - low) * 0.02))
    return _save(plt, fig, ax, path)


def plot_comparison(histories: dict[str, dict | list[dict]], path: Path,
                    baseline: float | None = None, offsets: dict[str, int] | None = None) -> Path:
    """Validation accuracy of every model per epoch on one plot, with the majority baseline.

    `offsets` starts a model's curve after that many epochs (model5 continues model4).
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, runs in histories.items():
        offset = (offsets or {}).get(name, 0)
        label = f"{name}, from epoch {offset + 1}" if offset else name
        _curve(ax, [runs] if isinstance(runs, dict) else runs, "val_accuracy", label, offset)
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
