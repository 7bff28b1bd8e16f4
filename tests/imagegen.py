"""Small images and folder-per-class datasets that tests make for themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

COLOURS = [(200, 40, 40), (40, 40, 200), (40, 180, 40), (200, 200, 40)]


def write_image(path: Path, size=(48, 40), colour=(128, 128, 128), seed=0, fmt=None) -> Path:
    """A noisy solid-colour image, so that classes differ and JPEG has texture to code."""
    rng = np.random.default_rng(seed)
    w, h = size
    pixels = np.clip(np.array(colour) + rng.normal(0, 25, (h, w, 3)), 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, format=fmt)
    return path


def make_dataset(root: Path, classes=("cats", "dogs"), n_train=4, n_val=5, size=(48, 40)) -> Path:
    """root/train/<class>/*.jpg and root/validation/<class>/*.jpg, deterministic content."""
    for label, name in enumerate(classes):
        colour = COLOURS[label % len(COLOURS)]
        for folder, count in (("train", n_train), ("validation", n_val)):
            for i in range(count):
                seed = label * 10_000 + (0 if folder == "train" else 5_000) + i
                write_image(root / folder / name / f"{name}.{i}.jpg", size, colour, seed)
    return root


def truncated_jpeg(path: Path) -> Path:
    write_image(path, size=(64, 64), seed=7)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path
