"""Fetch the dataset archive through Keras's cache and find the extracted folder.

Keras 2 extracts next to the archive and returns the archive's path; Keras 3 extracts into
`<name>_extracted/` and returns that folder. `find_dataset_root` accepts either.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from train.errors import PawliteError


@dataclass(frozen=True)
class FetchedDataset:
    root: Path
    source: str
    sha256: str | None


def archive_name(url: str) -> str:
    name = Path(urlparse(url).path).name
    if not name:
        raise PawliteError(f"DATA_URL {url!r} does not end in a file name (expected .../NAME.zip).")
    return name


def _stem(name: str) -> str:
    return name[: name.find(".")] if "." in name else name


def is_dataset_root(path: Path) -> bool:
    return (path / "train").is_dir() and (path / "validation").is_dir()


def find_dataset_root(returned: Path, name: str) -> Path:
    """The folder holding `train/` and `validation/`, whatever layout Keras extracted to."""
    stem = _stem(name)
    base = returned if returned.is_dir() else returned.parent
    candidates = [
        base,
        base / stem,
        base / f"{stem}_extracted" / stem,
        base / f"{stem}_extracted",
        base.parent / stem,
    ]
    for candidate in candidates:
        if is_dataset_root(candidate):
            return candidate
    raise PawliteError(
        f"No folder with train/ and validation/ inside was found after extracting {name} "
        f"(looked in {', '.join(str(c) for c in candidates)}). The archive must hold "
        "NAME/train/<class>/... and NAME/validation/<class>/...; or pass --data-dir."
    )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_dataset(url: str, cache_dir: Path | None = None) -> FetchedDataset:
    """Download (or reuse from the Keras cache) and extract the archive at `url`."""
    import keras

    name = archive_name(url)
    try:
        returned = keras.utils.get_file(
            fname=name,
            origin=url,
            extract=True,
            cache_dir=str(cache_dir) if cache_dir else None,
        )
    except Exception as exc:
        raise PawliteError(
            f"Could not fetch the dataset from {url}: {exc}\n"
            "To work offline, point it at a local copy: `make train "
            "DATA_URL=file:///abs/path/cats_and_dogs_filtered.zip` (or --data-url), "
            "or pass an already extracted folder with --data-dir."
        ) from exc
    returned_path = Path(returned)
    root = find_dataset_root(returned_path, name)
    archive = returned_path if returned_path.is_file() else returned_path.parent / name
    digest = sha256_of(archive) if archive.is_file() else None
    return FetchedDataset(root=root, source=url, sha256=digest)
