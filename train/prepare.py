"""From a data source to a stored split: fetch, scan, split, write split.json."""

from __future__ import annotations

import logging
from pathlib import Path

from train.config import TrainConfig
from train.download import fetch_dataset, is_dataset_root
from train.errors import PawliteError
from train.feature_head import FOLDS
from train.scan import ScanReport, describe_bad, scan_dataset
from train.split import Split, make_split

log = logging.getLogger(__name__)


def locate_data(config: TrainConfig) -> tuple[Path, str, str | None]:
    """(dataset root, where it came from, archive sha256 or None)."""
    if config.data_dir is not None:
        root = Path(config.data_dir).expanduser()
        if not root.is_dir():
            raise PawliteError(f"--data-dir {root} does not exist or is not a folder.")
        if not is_dataset_root(root):
            nested = [p for p in root.iterdir() if p.is_dir() and is_dataset_root(p)]
            if len(nested) != 1:
                raise PawliteError(
                    f"--data-dir {root} has no train/ and validation/ folders inside. "
                    "Point it at the folder that holds them."
                )
            root = nested[0]
        return root.resolve(), str(root.resolve()), None
    fetched = fetch_dataset(config.data_url)
    return fetched.root, fetched.source, fetched.sha256


def check_scan(scan: ScanReport, skip_bad: bool) -> None:
    if scan.bad and not skip_bad:
        raise PawliteError(
            f"{len(scan.bad)} file(s) in the dataset cannot be used for training:\n"
            f"{describe_bad(scan.bad, scan.root)}\n"
            "Remove or fix them, or rerun with --skip-bad to train without them "
            "(they are recorded in split.json)."
        )
    for bad in scan.bad:
        log.warning("skipping %s: %s", scan.root / bad.path, bad.reason)


def prepare(config: TrainConfig) -> Split:
    """Fetch and check the data, then write the split every later stage reads."""
    root, source, digest = locate_data(config)
    log.info("scanning %s", root)
    scan = scan_dataset(root, progress=lambda n, total: log.info("checked %d/%d images", n, total))
    check_scan(scan, config.skip_bad)
    for folder, counts in scan.counts().items():
        log.info("%s: %s", folder, ", ".join(f"{k} {v}" for k, v in counts.items()))
    split = make_split(
        scan,
        seed=config.seed,
        batch_size=config.batch_size,
        image_size=config.image_size,
        batch_fraction=config.test_batch_fraction,
        data_source=source,
        dataset_sha256=digest,
    ).with_train_folds(FOLDS)
    split.save(config.split_path)
    log.info(
        "split written to %s: train %d, validation %d, test %d",
        config.split_path,
        *(len(split.splits[k]) for k in ("train", "validation", "test")),
    )
    return split
