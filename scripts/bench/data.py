"""Image sets for `make bench`: the dataset's validation folder and generated 12 MP photos.

Both sets are folders with one subfolder per class, because the study's
`image_dataset_from_directory` needs that layout. The large photos are dataset photos
upscaled to 12 megapixels with seeded sensor-like noise, so their JPEG sizes and decode
cost are those of real phone photos (a smooth upscale alone would compress to a fraction).
They are generated once and cached; a set of n images is the first n of the cached ones.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
DATASET_FOLDER = "cats_and_dogs_filtered"


def image_files(folder: Path) -> list[Path]:
    """Image files under `folder`, recursive, in a stable order."""
    found = folder.rglob("*")
    return sorted(p for p in found if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def dataset_root(data_dir: Path | None, data_zip: Path, cache: Path) -> Path:
    """The dataset folder holding validation/: `data_dir`, or `data_zip` extracted into `cache`."""
    if data_dir is not None:
        if not (data_dir / "validation").is_dir():
            raise SystemExit(f"error: {data_dir} has no validation/ folder; pass the folder "
                             f"that holds train/ and validation/ ({DATASET_FOLDER}).")
        return data_dir
    root = cache / DATASET_FOLDER
    if (root / "validation").is_dir():
        return root
    if not data_zip.is_file():
        raise SystemExit(f"error: {data_zip} not found; pass --data-dir or --data-zip.")
    cache.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(data_zip) as archive:
        archive.extractall(cache)
    return root


def subset(source: Path, count: int | None, dest: Path) -> Path:
    """`source` itself, or a folder of hard links to the first `count` images per class."""
    classes = sorted(p for p in source.iterdir() if p.is_dir())
    if count is None:
        return source
    per_class = max(1, count // max(1, len(classes)))
    if dest.exists():
        shutil.rmtree(dest)
    for folder in classes:
        for path in image_files(folder)[:per_class]:
            target = dest / folder.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, target)
            except OSError:
                shutil.copyfile(path, target)
    return dest


def large_photos(sources: list[Path], count: int, size: tuple[int, int], cache: Path,
                 seed: int = 1337) -> Path:
    """`cache`/<w>x<h>/ holding `count` noisy upscaled photos (generated if missing)."""
    from PIL import Image

    width, height = size
    folder = cache / f"{width}x{height}-seed{seed}"
    manifest = folder / "manifest.json"
    done = json.loads(manifest.read_text()) if manifest.is_file() else []
    if len(done) >= count:
        return _first(folder, done, count)
    for index in range(len(done), count):
        rng = np.random.default_rng([seed, index])
        source = sources[int(rng.integers(len(sources)))]
        rel = Path(source.parent.name) / f"large_{index:04d}.jpg"
        with Image.open(source) as photo:
            big = photo.convert("RGB").resize((width, height), Image.Resampling.BICUBIC)
        pixels = np.asarray(big, dtype=np.int16)
        grain = rng.integers(-10, 11, size=pixels.shape, dtype=np.int16)
        pixels = np.clip(pixels + grain, 0, 255).astype(np.uint8)
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(target, quality=92)
        done.append(str(rel))
        manifest.write_text(json.dumps(done))
    return _first(folder, done, count)


def _first(folder: Path, done: list[str], count: int) -> Path:
    if len(done) == count:
        return folder
    view = folder.parent / f"{folder.name}-first{count}"
    if view.exists():
        shutil.rmtree(view)
    for rel in done[:count]:
        target = view / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(folder / rel, target)
    return view


def warm_cache(files: list[Path]) -> int:
    """Read every file once so no contender pays for the first disk read; returns bytes."""
    total = 0
    for path in files:
        total += len(path.read_bytes())
    return total
