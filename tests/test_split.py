from pathlib import Path

import pytest

from train.errors import PawliteError
from train.scan import ScanReport
from train.split import Split, make_split, n_test_images


def fake_scan(n_train=2000, n_val=1000, classes=("cats", "dogs")) -> ScanReport:
    k = len(classes)
    return ScanReport(
        root=Path("/data/set"),
        class_names=classes,
        files={
            "train": tuple((f"train/{classes[i % k]}/{i}.jpg", i % k) for i in range(n_train)),
            "validation": tuple(
                (f"validation/{classes[i % k]}/{i}.jpg", i % k) for i in range(n_val)
            ),
        },
    )


def test_study_rule_gives_192_test_images_of_1000():
    assert n_test_images(1000, 32, 5) == 192
    split = make_split(fake_scan(), seed=1)
    assert [len(split.splits[k]) for k in ("train", "validation", "test")] == [2000, 808, 192]


def test_same_seed_same_split_and_different_seed_different_split():
    a, b, c = (make_split(fake_scan(), seed=s) for s in (7, 7, 8))
    assert a.splits == b.splits
    assert a.splits["test"] != c.splits["test"]


def test_splits_are_disjoint_and_cover_the_validation_folder():
    split = make_split(fake_scan(), seed=3)
    val, test = set(split.splits["validation"]), set(split.splits["test"])
    assert not val & test
    assert not set(split.splits["train"]) & (val | test)
    assert val | test == set(fake_scan().files["validation"])


def test_manifest_round_trip(tmp_path):
    split = make_split(fake_scan(classes=("a", "b", "c")), seed=5, dataset_sha256="ab" * 32)
    split.save(tmp_path / "split.json")
    loaded = Split.load(tmp_path / "split.json")
    assert loaded == split
    assert loaded.class_names == ("a", "b", "c")
    assert loaded.paths("test")[0].is_relative_to(Path("/data/set"))
    moved = Split.load(tmp_path / "split.json", data_root=tmp_path)
    assert moved.paths("train")[0].parent.parent.parent == tmp_path


def test_missing_manifest_says_to_train_first(tmp_path):
    with pytest.raises(PawliteError, match="make train"):
        Split.load(tmp_path / "split.json")
