"""`--sort-into DIR`: put each classified image into DIR/<label>/, safely.

Guarantees:
- never overwrites: a taken name gets a suffix ("photo-1.jpg"); every final name is claimed
  with an exclusive create or a hard link, which fail instead of replacing an existing file;
- never writes outside DIR: labels and file names are reduced to one safe path component, and
  the resolved destination folder must be inside the resolved DIR (a label folder that is a
  symlink pointing elsewhere is refused);
- `move` never loses a file: the destination is complete (hard link, or a copy flushed to
  disk) before the source is removed, so an interruption leaves the file in one or both places.
"""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from edge.config import SORT_MODES
from edge.errors import EdgeError

_MAX_SUFFIX = 10_000


@dataclass(frozen=True)
class Placement:
    """Where a file went (or would go, with dry_run)."""

    source: Path
    target: Path
    mode: str
    dry_run: bool


def safe_component(name: str) -> str:
    """One path component with no separators, no "..", no leading dot, never empty."""
    cleaned = "".join("_" if c in '/\\\x00:' or ord(c) < 32 else c for c in name).strip()
    cleaned = cleaned.lstrip(".")
    return cleaned or "_"


class Sorter:
    """Copies, moves or links files into `root/<label>/` by the rules in the module docstring."""

    def __init__(self, root: Path, mode: str = "copy", dry_run: bool = False) -> None:
        if mode not in SORT_MODES:
            raise ValueError(f"mode must be one of {', '.join(SORT_MODES)}, not {mode!r}")
        self.root = Path(root)
        self.mode = mode
        self.dry_run = dry_run
        self._planned: set[Path] = set()

    def place(self, source: str | os.PathLike, label: str) -> Placement:
        """Put `source` into the folder for `label`; returns the chosen destination."""
        source = Path(source)
        folder = self._folder(label)
        name = safe_component(source.name)
        if self.dry_run:
            target = self._free_name(folder, name)
            self._planned.add(target)
            return Placement(source, target, self.mode, True)
        try:
            for target in _candidates(folder, name):
                try:
                    self._claim(source, target)
                except FileExistsError:
                    continue
                if self.mode == "move":
                    source.unlink()
                return Placement(source, target, self.mode, False)
        except OSError as e:
            raise EdgeError(
                f"cannot {self.mode} {source} into {folder}: {e.strerror or e}"
            ) from None
        raise EdgeError(f"{folder}: no free name for {name} after {_MAX_SUFFIX} tries.")

    def _folder(self, label: str) -> Path:
        root = self.root.resolve()
        folder = root / safe_component(label)
        if not self.dry_run:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise EdgeError(f"cannot create {folder}: {e.strerror or e}") from None
        if folder.is_symlink() or not folder.resolve().is_relative_to(root):
            raise EdgeError(f"{folder} points outside {root}; remove it and run again.")
        return folder

    def _free_name(self, folder: Path, name: str) -> Path:
        for target in _candidates(folder, name):
            if not target.exists() and not target.is_symlink() and target not in self._planned:
                return target
        raise EdgeError(f"{folder}: no free name for {name}.")

    def _claim(self, source: Path, target: Path) -> None:
        if self.mode in ("move", "link"):
            try:
                os.link(source, target, follow_symlinks=True)
                return
            except FileExistsError:
                raise
            except OSError as e:
                if e.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                    raise
            if self.mode == "link":
                os.symlink(source.resolve(), target)
                return
        _exclusive_copy(source, target)


def _candidates(folder: Path, name: str):
    stem, suffix = os.path.splitext(name)
    yield folder / name
    for i in range(1, _MAX_SUFFIX):
        yield folder / f"{stem}-{i}{suffix}"


def _exclusive_copy(source: Path, target: Path) -> None:
    """Copy into a name nobody else has (O_EXCL), fsync'd, so a later unlink of source is safe."""
    with open(source, "rb") as src, open(target, "xb") as dst:
        try:
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
        except BaseException:
            dst.close()
            target.unlink(missing_ok=True)
            raise
    shutil.copystat(source, target)
