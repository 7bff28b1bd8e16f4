"""The training stage's configuration, shared by `python -m train` and the Python API."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

OFFICIAL_DATA_URL = "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip"
DEFAULT_SEED = 1337


@dataclass(frozen=True)
class TrainConfig:
    """Everything a study run depends on; written beside its results so a run can be redone.

    `data_dir` wins over `data_url` when both are given. `base_weights` is "imagenet" (Keras's
    official download) or a path to a MobileNetV2 1.0/160 no-top weights file.
    """

    data_url: str = OFFICIAL_DATA_URL
    data_dir: Path | None = None
    base_weights: str | os.PathLike = "imagenet"
    out: Path = Path("artifacts")
    epochs: int = 20
    seed: int = DEFAULT_SEED
    models: tuple[int, ...] = (1, 2, 3, 4)
    batch_size: int = 32
    image_size: tuple[int, int] = (160, 160)
    skip_bad: bool = False
    test_batch_fraction: int = 5

    @property
    def split_path(self) -> Path:
        return self.out / "split.json"

    def to_json(self) -> dict:
        return {
            "data_url": self.data_url,
            "data_dir": str(self.data_dir) if self.data_dir else None,
            "base_weights": os.fspath(self.base_weights),
            "out": str(self.out),
            "epochs": self.epochs,
            "seed": self.seed,
            "models": list(self.models),
            "batch_size": self.batch_size,
            "image_size": list(self.image_size),
            "skip_bad": self.skip_bad,
            "test_batch_fraction": self.test_batch_fraction,
        }
