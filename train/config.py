"""The training stage's configuration, shared by `python -m train` and the Python API."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

OFFICIAL_DATA_URL = "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip"
DEFAULT_SEED = 1337
DEFAULT_COLLAPSE_RETRIES = 2
ADAM_DEFAULT_LEARNING_RATE = 0.001


@dataclass(frozen=True)
class TrainConfig:
    """Everything a study run depends on; written beside its results so a run can be redone.

    `data_dir` wins over `data_url` when both are given. `base_weights` is "imagenet" (Keras's
    official download) or a path to a MobileNetV2 1.0/160 no-top weights file.

    `seed` draws the split (one split for every training seed, so seeds differ only in
    training) and is the training seed unless `seeds` lists several: each model is then
    trained once per seed. `collapse_retries` bounds the restarts of a collapsed run (see
    `train.collapse`). `learning_rate` is Adam's default, the study's; it is a field so that
    tests can drive a model into collapse on purpose.

    Model 5 (beyond the study, `train.feature_head`) has no settings here: its one setting, the
    head's L2 penalty, is chosen by cross-validation inside the training images.
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
    seeds: tuple[int, ...] = ()
    collapse_retries: int = DEFAULT_COLLAPSE_RETRIES
    learning_rate: float = ADAM_DEFAULT_LEARNING_RATE

    @property
    def training_seeds(self) -> tuple[int, ...]:
        return self.seeds or (self.seed,)

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
            "seeds": list(self.training_seeds),
            "collapse_retries": self.collapse_retries,
            "learning_rate": self.learning_rate,
        }
