"""Streamed discovery of the images to classify, so a 20,000-photo folder is never listed whole.

Rules:
- a file named on the command line is always classified (if it is not an image, that is an
  error row: the user asked for it);
- inside folders, a file is a candidate when its extension is an image extension Pillow knows,
  or, whatever its name, when its first bytes are an image signature (decided by content);
  anything else (`notes.txt`, `.DS_Store`, hidden files) is skipped and counted;
- a candidate that is a broken or looping symlink is still yielded, so it becomes an error row;
- each folder is entered once (by device and inode), so symlinked folder loops terminate.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from PIL import Image

from edge.errors import EdgeError

_SIGNATURES = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\x00",  # TIFF little-endian
    b"MM\x00*",  # TIFF big-endian
)


def image_extensions() -> frozenset[str]:
    """Lower-case extensions (with the dot) that Pillow can open on this installation."""
    Image.init()
    return frozenset(ext for ext, fmt in Image.EXTENSION.items() if fmt in Image.OPEN)


def looks_like_image(path: str | os.PathLike) -> bool:
    """True when the first bytes are a known image signature (used for unknown extensions)."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return False
    if head.startswith(_SIGNATURES):
        return True
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


class FileWalker:
    """Iterate candidate image paths under `paths`, counting what was skipped.

    `exclude` folders are never entered (the `--sort-into` destination, so sorted copies are not
    classified again). Order is deterministic: sorted names within each folder.
    """

    def __init__(
        self,
        paths: Iterable[str | os.PathLike],
        recursive: bool = True,
        exclude: Iterable[str | os.PathLike] = (),
    ) -> None:
        self.paths = [Path(p) for p in paths]
        self.recursive = recursive
        self.exclude = {_dir_key(p) for p in exclude if os.path.isdir(p)}
        self.skipped = 0
        self._extensions = image_extensions()
        self._seen_dirs: set[tuple[int, int]] = set()

    def __iter__(self) -> Iterator[Path]:
        self._seen_dirs = set(self.exclude)
        for path in self.paths:
            if path.is_dir():
                yield from self._walk(path)
            elif path.exists() or path.is_symlink():
                yield path
            else:
                raise EdgeError(f"{path}: no such file or folder. Check the path and try again.")

    def is_candidate(self, path: Path) -> bool:
        if path.name.startswith("."):
            return False
        if path.suffix.lower() in self._extensions:
            return True
        return path.is_file() and looks_like_image(path)

    def _walk(self, folder: Path) -> Iterator[Path]:
        key = _dir_key(folder)
        if key is None or key in self._seen_dirs:
            return
        self._seen_dirs.add(key)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            return
        subfolders = []
        for entry in entries:
            path = Path(entry.path)
            if _is_dir(entry):
                if self.recursive and not entry.name.startswith("."):
                    subfolders.append(path)
            elif self.is_candidate(path):
                yield path
            else:
                self.skipped += 1
        for sub in subfolders:
            yield from self._walk(sub)


def watch(
    folders: Iterable[str | os.PathLike],
    seen: set[str],
    stop: threading.Event,
    recursive: bool = True,
    interval: float = 1.0,
    exclude: Iterable[str | os.PathLike] = (),
) -> Iterator[Path]:
    """Yield images that appear in `folders` until `stop` is set.

    A new file is yielded once its size and modification time are unchanged over one poll, so
    a camera still writing a photo is not read half-written. `seen` holds the paths (as str)
    already handled and is updated.
    """
    folders = [Path(f) for f in folders]
    pending: dict[str, tuple[int, int]] = {}
    while not stop.wait(interval):
        walker = FileWalker(folders, recursive=recursive, exclude=exclude)
        for path in walker:
            key = str(path)
            if key in seen:
                continue
            signature = _signature(path)
            if pending.get(key) == signature:
                del pending[key]
                seen.add(key)
                yield path
            else:
                pending[key] = signature


def _signature(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except OSError:
        return (-1, -1)
    return (st.st_size, st.st_mtime_ns)


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _dir_key(path: str | os.PathLike) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)
