import pytest

from tests.imagegen import make_dataset, truncated_jpeg, write_image
from train.errors import PawliteError
from train.scan import scan_dataset


def test_counts_and_class_names_come_from_folders(tmp_path):
    make_dataset(tmp_path, classes=("zebra", "ant", "moth"), n_train=3, n_val=2)
    report = scan_dataset(tmp_path)
    assert report.class_names == ("ant", "moth", "zebra")
    assert report.counts()["train"] == {"ant": 3, "moth": 3, "zebra": 3}
    assert report.counts()["validation"] == {"ant": 2, "moth": 2, "zebra": 2}
    assert report.bad == ()


def test_corrupt_jpeg_and_text_file_are_named_with_reasons(tmp_path):
    make_dataset(tmp_path)
    truncated_jpeg(tmp_path / "train" / "cats" / "broken.jpg")
    (tmp_path / "validation" / "dogs" / "notes.jpg").write_text("not a picture")
    report = scan_dataset(tmp_path)
    bad = {b.path: b.reason for b in report.bad}
    assert set(bad) == {"train/cats/broken.jpg", "validation/dogs/notes.jpg"}
    assert "not an image" in bad["validation/dogs/notes.jpg"]
    assert "truncated" in bad["train/cats/broken.jpg"]
    assert all("broken" not in rel for rel, _ in report.files["train"])


def test_formats_tensorflow_cannot_train_on_are_reported(tmp_path):
    make_dataset(tmp_path)
    write_image(tmp_path / "train" / "dogs" / "scan.tif", fmt="TIFF")
    report = scan_dataset(tmp_path)
    assert [b.path for b in report.bad] == ["train/dogs/scan.tif"]
    assert "TIFF" in report.bad[0].reason


def test_hidden_files_are_ignored(tmp_path):
    make_dataset(tmp_path)
    (tmp_path / "train" / "cats" / ".DS_Store").write_bytes(b"\0\1")
    assert scan_dataset(tmp_path).bad == ()


def test_mismatched_class_folders_are_an_error(tmp_path):
    make_dataset(tmp_path)
    write_image(tmp_path / "validation" / "birds" / "b.jpg")
    with pytest.raises(PawliteError, match="Class folders differ"):
        scan_dataset(tmp_path)


def test_missing_validation_folder(tmp_path):
    write_image(tmp_path / "train" / "a" / "x.jpg")
    with pytest.raises(PawliteError, match="validation"):
        scan_dataset(tmp_path)
