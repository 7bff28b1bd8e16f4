"""Decode every file once before training, so a bad file is named up front, not mid-epoch."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from train.errors import PawliteError

SPLIT_FOLDERS = ("train", "validation")
# What tf.io.decode_image reads: anything else would fail in the middle of training.
TRAINABLE_FORMATS = {"JPEG", "PNG", "GIF", "BMP"}


@dataclass(frozen=True)
class BadFile:
    path: str
    reason: str


@dataclass(frozen=True)
class ScanReport:
    root: Path
    class_names: tuple[str, ...]
    files: dict[str, tuple[tuple[str, int], ...]]
    bad: tuple[BadFile, ...] = field(default_factory=tuple)

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for folder, items in self.files.items():
            per_class = {name: 0 for name in self.class_names}
            for _, label in items:
                per_class[self.class_names[label]] += 1
            out[folder] = per_class
        return out


def check_image(path: Path) -> str | None:
    """Why `path` cannot be trained on, or None when it decodes as a supported image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            fmt = img.format
            img.load()
    except UnidentifiedImageError:
        return "not an image (Pillow cannot identify it)"
    except (OSError, SyntaxError, ValueError) as exc:
        return f"cannot be decoded: {exc}"
    if fmt not in TRAINABLE_FORMATS:
        return f"format {fmt} is not readable by TensorFlow (use JPEG, PNG, GIF or BMP)"
    return None


def class_folders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def scan_dataset(
    root: Path,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 4,
) -> ScanReport:
    """Check the folder-per-class layout and decode every image once."""
    missing = [name for name in SPLIT_FOLDERS if not (root / name).is_dir()]
    if missing:
        raise PawliteError(
            f"{root} has no {' or '.join(missing)}/ folder. Expected "
            "train/<class>/*.jpg and validation/<class>/*.jpg."
        )
    class_names = class_folders(root / "train")
    if len(class_names) < 2:
        raise PawliteError(
            f"{root / 'train'} needs at least two class folders, found {class_names}."
        )
    val_classes = class_folders(root / "validation")
    if val_classes != class_names:
        raise PawliteError(
            f"Class folders differ: train has {class_names}, validation has {val_classes}. "
            "Give both the same class folders."
        )
    candidates: list[tuple[str, str, int]] = []
    for folder in SPLIT_FOLDERS:
        for label, name in enumerate(class_names):
            for path in sorted((root / folder / name).rglob("*")):
                if path.is_file() and not path.name.startswith("."):
                    candidates.append((folder, path.relative_to(root).as_posix(), label))
    total = len(candidates)
    reasons: list[str | None] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done, reason in enumerate(pool.map(lambda c: check_image(root / c[1]), candidates), 1):
            reasons.append(reason)
            if progress and (done % 250 == 0 or done == total):
                progress(done, total)
    files: dict[str, list[tuple[str, int]]] = {folder: [] for folder in SPLIT_FOLDERS}
    bad = []
    for (folder, rel, label), reason in zip(candidates, reasons, strict=True):
        if reason is None:
            files[folder].append((rel, label))
        else:
            bad.append(BadFile(rel, reason))
    for folder, items in files.items():
        if not items:
            raise PawliteError(f"{root / folder} holds no usable images.")
    return ScanReport(
        root=root,
        class_names=tuple(class_names),
        files={k: tuple(v) for k, v in files.items()},
        bad=tuple(bad),
    )


def describe_bad(bad: tuple[BadFile, ...], root: Path, limit: int = 20) -> str:
    lines = [f"  {root / b.path}: {b.reason}" for b in bad[:limit]]
    if len(bad) > limit:
        lines.append(f"  ... and {len(bad) - limit} more")
    return "\n".join(lines)
