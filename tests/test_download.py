import zipfile

import pytest

from tests.imagegen import make_dataset
from train.download import fetch_dataset, find_dataset_root
from train.errors import PawliteError


def zipped_dataset(tmp_path, name="pets"):
    src = make_dataset(tmp_path / "src" / name, n_train=2, n_val=2)
    archive = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(src.rglob("*")):
            zf.write(path, path.relative_to(src.parent).as_posix())
    return archive


def test_keras2_layout_extracts_beside_the_archive(tmp_path):
    datasets = tmp_path / "datasets"
    make_dataset(datasets / "pets", n_train=1, n_val=1)
    (datasets / "pets.zip").write_bytes(b"")
    assert find_dataset_root(datasets / "pets.zip", "pets.zip") == datasets / "pets"


def test_keras3_layout_extracts_into_name_extracted(tmp_path):
    extracted = tmp_path / "datasets" / "pets_extracted"
    make_dataset(extracted / "pets", n_train=1, n_val=1)
    assert find_dataset_root(extracted, "pets.zip") == extracted / "pets"


def test_archive_without_the_expected_folders_is_explained(tmp_path):
    (tmp_path / "pets_extracted" / "other").mkdir(parents=True)
    with pytest.raises(PawliteError, match="train/ and validation/"):
        find_dataset_root(tmp_path / "pets_extracted", "pets.zip")


def test_file_url_goes_through_keras_get_file(tmp_path):
    archive = zipped_dataset(tmp_path)
    fetched = fetch_dataset(f"file://{archive}", cache_dir=tmp_path / "cache")
    assert (fetched.root / "train" / "cats").is_dir()
    assert fetched.root.name == "pets"
    assert fetched.sha256 and len(fetched.sha256) == 64
    again = fetch_dataset(f"file://{archive}", cache_dir=tmp_path / "cache")
    assert again.root == fetched.root


def test_unreachable_url_names_the_url_and_the_offline_options(tmp_path):
    url = "http://127.0.0.1:9/cats_and_dogs_filtered.zip"
    with pytest.raises(PawliteError) as info:
        fetch_dataset(url, cache_dir=tmp_path)
    message = str(info.value)
    assert url in message and "DATA_URL=file://" in message and "--data-dir" in message
