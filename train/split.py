"""The fixed train/validation/test split, stored as a manifest every later stage reads.

The study took its test set as "the first 1/5 of the validation batches" of a dataset that
reshuffles each epoch, so its test images changed from run to run. Here the validation folder
is shuffled once with a seed, the test size follows the study's rule
(validation batches // 5 * batch size: 192 of 1,000), and the lists are written down.

`folds` numbers the training images for the k-fold cross-validation that chooses model5's
setting inside the training images (docs/protocol.md): drawn once with the split seed and
stored, so a rerun or a reviewer sees the same folds.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from train.errors import PawliteError
from train.scan import ScanReport

FORMAT = "pawlite-split/1"
SPLIT_NAMES = ("train", "validation", "test")


@dataclass(frozen=True)
class Split:
    seed: int
    batch_size: int
    image_size: tuple[int, int]
    class_names: tuple[str, ...]
    data_root: Path
    data_source: str
    dataset_sha256: str | None
    splits: dict[str, tuple[tuple[str, int], ...]]
    skipped: tuple[dict, ...] = field(default_factory=tuple)
    folds: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def with_train_folds(self, k: int) -> Split:
        """This split with `k` class-balanced folds of the training images, drawn from the split
        seed; an existing set of folds is kept as it is."""
        if len(self.folds.get("train", ())) == len(self.splits["train"]):
            return self
        from train.feature_head import make_folds

        folds = make_folds(self.labels("train"), k, self.seed)
        return dataclasses.replace(self, folds={**self.folds, "train": folds})

    def paths(self, name: str) -> list[Path]:
        return [self.data_root / rel for rel, _ in self._items(name)]

    def labels(self, name: str) -> list[int]:
        return [label for _, label in self._items(name)]

    def _items(self, name: str) -> tuple[tuple[str, int], ...]:
        if name not in self.splits:
            raise KeyError(f"unknown split {name!r}; have {sorted(self.splits)}")
        return self.splits[name]

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "seed": self.seed,
            "batch_size": self.batch_size,
            "image_size": list(self.image_size),
            "class_names": list(self.class_names),
            "data_root": str(self.data_root),
            "data_source": self.data_source,
            "dataset_sha256": self.dataset_sha256,
            "splits": {k: [[rel, label] for rel, label in v] for k, v in self.splits.items()},
            "skipped": list(self.skipped),
            **({"folds": {k: list(v) for k, v in self.folds.items()}} if self.folds else {}),
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=1) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, data_root: Path | None = None) -> Split:
        """Read a manifest; `data_root` relocates it (the dataset moved or another machine)."""
        path = Path(path)
        if not path.is_file():
            raise PawliteError(f"{path} not found. Run `make train` (python -m train) first.")
        try:
            raw = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise PawliteError(
                f"{path} is not valid JSON ({exc}). Delete it and rerun training."
            ) from None
        if raw.get("format") != FORMAT:
            raise PawliteError(f"{path} is not a pawlite split manifest ({FORMAT}).")
        return cls(
            seed=raw["seed"],
            batch_size=raw["batch_size"],
            image_size=tuple(raw["image_size"]),
            class_names=tuple(raw["class_names"]),
            data_root=Path(data_root or raw["data_root"]),
            data_source=raw["data_source"],
            dataset_sha256=raw.get("dataset_sha256"),
            splits={
                k: tuple((rel, int(label)) for rel, label in v) for k, v in raw["splits"].items()
            },
            skipped=tuple(raw.get("skipped", ())),
            folds={k: tuple(int(f) for f in v) for k, v in raw.get("folds", {}).items()},
        )


def n_test_images(n_validation: int, batch_size: int, batch_fraction: int) -> int:
    """The study's rule: the first (validation batches // fraction) batches become the test set."""
    batches = math.ceil(n_validation / batch_size)
    return min(n_validation, (batches // batch_fraction) * batch_size)


def make_split(
    scan: ScanReport,
    seed: int,
    batch_size: int = 32,
    image_size: tuple[int, int] = (160, 160),
    batch_fraction: int = 5,
    data_source: str = "",
    dataset_sha256: str | None = None,
) -> Split:
    validation = sorted(scan.files["validation"])
    order = np.random.default_rng(seed).permutation(len(validation))
    shuffled = [validation[i] for i in order]
    n_test = n_test_images(len(shuffled), batch_size, batch_fraction)
    return Split(
        seed=seed,
        batch_size=batch_size,
        image_size=tuple(image_size),
        class_names=scan.class_names,
        data_root=scan.root.resolve(),
        data_source=data_source,
        dataset_sha256=dataset_sha256,
        splits={
            "train": tuple(sorted(scan.files["train"])),
            "validation": tuple(sorted(shuffled[n_test:])),
            "test": tuple(sorted(shuffled[:n_test])),
        },
        skipped=tuple({"path": b.path, "reason": b.reason} for b in scan.bad),
    )
