"""Look at the data before training: class balance, the baseline to beat, samples, augmentation.

The baseline (always answer the training set's most frequent class) is the number every model
must clear; the figures show what the models see, including the study's two augmentations.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from train.split import SPLIT_NAMES, Split

SAMPLES_PER_CLASS = 3
AUGMENTED_COPIES = 3


def label_counts(split: Split) -> dict[str, dict[str, int]]:
    """Images per class in each split, by class name."""
    out = {}
    for name in SPLIT_NAMES:
        labels = np.asarray(split.labels(name), np.int64)
        counts = np.bincount(labels, minlength=len(split.class_names))
        out[name] = {c: int(n) for c, n in zip(split.class_names, counts, strict=True)}
    return out


def baseline(counts: dict[str, dict[str, int]]) -> dict:
    """Accuracy of always predicting the training set's majority class, on every split."""
    train = counts["train"]
    majority = max(train, key=lambda c: (train[c], -list(train).index(c)))
    accuracy = {}
    for name, per_class in counts.items():
        total = sum(per_class.values())
        accuracy[name] = per_class[majority] / total if total else None
    return {"majority_class": majority, "accuracy": accuracy}


def _pick(labels: np.ndarray, label: int, k: int, rng: np.random.Generator) -> np.ndarray:
    candidates = np.flatnonzero(labels == label)
    return rng.choice(candidates, size=min(k, len(candidates)), replace=False)


def sample_grid(images, labels, class_names, path: Path, seed: int) -> Path:
    """One row per class, `SAMPLES_PER_CLASS` random images each, titled with the class name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    rows = len(class_names)
    fig, axes = plt.subplots(rows, SAMPLES_PER_CLASS, figsize=(3 * SAMPLES_PER_CLASS, 3 * rows))
    axes = np.asarray(axes).reshape(rows, SAMPLES_PER_CLASS)
    for label, name in enumerate(class_names):
        picked = _pick(labels, label, SAMPLES_PER_CLASS, rng)
        for col, ax in enumerate(axes[label]):
            ax.axis("off")
            if col < len(picked):
                ax.imshow(images[picked[col]])
                ax.set_title(name)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _augmented(layer, image: np.ndarray) -> list[np.ndarray]:
    batch = np.repeat(image[None].astype("float32"), AUGMENTED_COPIES, axis=0)
    out = np.asarray(layer(batch, training=True))
    return [np.clip(x, 0, 255).astype("uint8") for x in out]


def augment_figure(image: np.ndarray, layer, title: str, path: Path) -> Path:
    """The original image and `AUGMENTED_COPIES` copies through one augmentation layer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("original", image)] + [
        (f"{title} #{i + 1}", x) for i, x in enumerate(_augmented(layer, image))
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(3 * len(panels), 3.3))
    for ax, (name, pixels) in zip(axes, panels, strict=True):
        ax.imshow(pixels)
        ax.set_title(name)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def explore(split: Split, images: np.ndarray, labels: np.ndarray, out: Path, seed: int) -> dict:
    """Counts, baseline and the three figures (from the training images); returns the facts."""
    from keras import layers

    out.mkdir(parents=True, exist_ok=True)
    counts = label_counts(split)
    index = int(np.random.default_rng(seed).integers(len(images)))
    figures = {
        "sample_grid": sample_grid(
            images, labels, split.class_names, out / "sample_grid.png", seed
        ),
        "augment_flip": augment_figure(
            images[index], layers.RandomFlip(seed=seed), "RandomFlip()", out / "augment_flip.png"
        ),
        "augment_rotation": augment_figure(
            images[index],
            layers.RandomRotation(0.2, seed=seed),
            "RandomRotation(0.2)",
            out / "augment_rotation.png",
        ),
    }
    return {
        "label_counts": counts,
        "baseline": baseline(counts),
        "augment_image": split.splits["train"][index][0],
        "figures": {k: p.name for k, p in figures.items()},
    }
