"""Streamed discovery of the images to classify, so a 20,000-photo folder is never listed whole.

Rules:
- a file named on the command line is always classified (if it is not an image, that is an
  error row: the user asked for it);
- inside folders, a file is a candidate when its extension is an image extension Pillow knows,
  or, whatever its name, when its first bytes are an image signature (decided by content);
  anything else (`notes.txt`, `.DS_Store`, hidden files) is skipped and counted;
- a candidate that is a broken or looping symlink is still yielded, so it becomes an error row;
- each folder is entered once (by device and inode), so symlinked folder loops terminate;
- a symlinked folder met while walking is entered only when it resolves inside one of the
  folders given: a link to a folder elsewhere is skipped (and counted), so `--mode move`
  never empties a folder nobody named; name that folder itself to classify it;
- each file is yielded once, by its resolved path, however many times the arguments name it;
- the `exclude` folders (the `--sort-into` tree) and `exclude_files` (the output file) are
  never read, matched by resolved path, so a folder created during the walk is skipped too.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections import Counter
from collections.abc import Container, Iterable, Iterator
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


@functools.lru_cache(maxsize=1)
def image_extensions() -> frozenset[str]:
    """Lower-case extensions (with the dot) that Pillow can open on this installation.

    Loads every Pillow plugin (tens of ms), so it is only called when a folder is walked.
    Stub formats (HDF5's .h5, GRIB, BUFR, WMF) are left out: Pillow only recognises them and
    cannot decode them, so `weights.h5` is not a photo.
    """
    from PIL import ImageFile

    register_optional_plugins()
    Image.init()
    return frozenset(ext for ext, fmt in Image.EXTENSION.items() if fmt in Image.OPEN
                     and not _is_stub(Image.OPEN[fmt][0], ImageFile.StubImageFile))


def _is_stub(factory, stub: type) -> bool:
    return isinstance(factory, type) and issubclass(factory, stub)


@functools.lru_cache(maxsize=1)
def register_optional_plugins() -> None:
    """Let Pillow open HEIC/HEIF photos when pillow-heif is installed."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return
    register_heif_opener()


# Photo formats cameras and phones write that Pillow reads only with a plugin.
_PLUGIN_FORMATS = {".heic": "HEIC", ".heif": "HEIF", ".hif": "HEIF", ".avif": "AVIF"}
_HEIF_BRANDS = {b"heic": "HEIC", b"heix": "HEIC", b"hevc": "HEIC", b"heim": "HEIC",
                b"heis": "HEIC", b"mif1": "HEIF", b"msf1": "HEIF", b"avif": "AVIF",
                b"avis": "AVIF"}


def unsupported_photo(path: str | os.PathLike) -> str | None:
    """"HEIC", "HEIF" or "AVIF" for a photo in a format this Pillow cannot open, by its
    extension or its first bytes; None otherwise."""
    fmt = _PLUGIN_FORMATS.get(os.path.splitext(os.fspath(path))[1].lower())
    if fmt is not None:
        return None if os.path.splitext(os.fspath(path))[1].lower() in image_extensions() \
            else fmt
    if not os.path.isfile(path):  # never open a pipe: it would block
        return None
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return None
    if head[4:8] == b"ftyp":
        return _HEIF_BRANDS.get(head[8:12])
    return None


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
    classified again), whether they exist yet or not. Order is deterministic: sorted names
    within each folder. `skipped` counts non-image files, `skipped_links` symlinked folders
    leading out of the given folders.
    """

    def __init__(
        self,
        paths: Iterable[str | os.PathLike],
        recursive: bool = True,
        exclude: Iterable[str | os.PathLike] = (),
        exclude_files: Iterable[str | os.PathLike] = (),
    ) -> None:
        self.paths = [Path(p) for p in paths]
        self.recursive = recursive
        self.exclude = [os.path.realpath(p) for p in exclude]
        exclude_files = list(exclude_files)
        self.exclude_files = {key for p in exclude_files
                              for key in (file_key(p), os.path.realpath(p))}
        self._excluded_names = {os.path.basename(p) for p in exclude_files}
        self.skipped = 0
        self.skipped_links = 0
        self.unreadable: list[tuple[str, str]] = []
        self.unsupported: Counter = Counter()
        self._seen_dirs: set[tuple[int, int]] = set()
        self._yielded: set[str] = set()
        self._roots = [os.path.realpath(p) for p in self.paths if p.is_dir()]

    def __iter__(self) -> Iterator[Path]:
        self._seen_dirs = {key for key in map(_dir_key, self.exclude) if key is not None}
        self._yielded = yielded = set()
        resolve = functools.lru_cache(maxsize=256)(os.path.realpath)  # one folder, many files
        for path in self._discover():
            key = file_key(path, resolve=resolve)
            if key in yielded or key in self.exclude_files:
                continue
            yielded.add(key)
            yield path

    def _discover(self) -> Iterator[Path]:
        for path in self.paths:
            if path.is_dir():
                yield from self._walk(path)
            elif path.exists() or path.is_symlink():
                yield path
            elif file_key(path) in self._yielded:
                continue  # read already through its folder, then moved away (--mode move)
            else:
                raise EdgeError(f"{path}: no such file or folder. Check the path and try again.")

    def is_candidate(self, path: Path) -> bool:
        if path.name.startswith("."):
            return False
        if path.suffix.lower() in image_extensions():
            return True
        return path.is_file() and looks_like_image(path)

    def _walk(self, folder: Path) -> Iterator[Path]:
        key = _dir_key(folder)
        if key is None or key in self._seen_dirs or inside(os.path.realpath(folder),
                                                             self.exclude):
            return
        self._seen_dirs.add(key)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            self.unreadable.append((str(folder), e.strerror or str(e)))
            return
        subfolders = []
        for entry in entries:
            path = Path(entry.path)
            if _is_dir(entry):
                if not self.recursive or entry.name.startswith("."):
                    continue
                if entry.is_symlink() and not inside(os.path.realpath(path), self._roots):
                    self.skipped_links += 1
                    continue
                subfolders.append(path)
            elif entry.name in self._excluded_names and file_key(path) in self.exclude_files:
                continue
            elif self.is_candidate(path):
                yield path
            elif (fmt := unsupported_photo(path)) is not None:
                self.unsupported[fmt] += 1
            else:
                self.skipped += 1
        for sub in subfolders:
            yield from self._walk(sub)


def watch(
    folders: Iterable[str | os.PathLike],
    seen: dict[str, tuple[int, int]],
    stop: threading.Event,
    recursive: bool = True,
    interval: float = 1.0,
    exclude: Iterable[str | os.PathLike] = (),
    settle: float = 0.0,
    failed: Container[str] = frozenset(),
    exclude_files: Iterable[str | os.PathLike] = (),
) -> Iterator[Path]:
    """Yield images that appear in `folders` until `stop` is set.

    A new file is yielded once its size and modification time have stayed the same across at
    least one poll and for `settle` seconds, so a camera still writing a photo (even in bursts
    with pauses) is not read half-written. `seen` maps the paths (as str) already handled to
    their signature when handled; a path in `failed` (it got an error row) whose size or
    modification time changes since is yielded again once it settles, and so is any path that
    now names another file (another inode: a camera reusing a name after a --mode move).
    Paths that vanish are dropped from `seen`.
    """
    folders = [Path(f) for f in folders]
    pending: dict[str, tuple[tuple[int, int, int], float]] = {}
    while not stop.wait(interval):
        walker = FileWalker(folders, recursive, exclude, exclude_files)
        now = time.monotonic()
        present = set()
        for path in walker:
            key = str(path)
            present.add(key)
            current = signature(path)
            earlier = seen.get(key)
            if earlier is not None and (earlier == current or (
                    key not in failed and earlier[2:] == current[2:])):
                continue
            first = pending.get(key)
            if first is not None and first[0] == current and now - first[1] >= settle:
                del pending[key]
                seen[key] = current
                yield path
            elif first is None or first[0] != current:
                pending[key] = (current, now)
        # Files moved or deleted are forgotten: memory follows the folder, not its history,
        # and a new file under a reused name is a new photo.
        for gone in [k for k in seen if k not in present]:
            del seen[gone]
        for gone in [k for k in pending if k not in present]:
            del pending[gone]


def file_key(path: str | os.PathLike, base: str | os.PathLike | None = None,
             resolve=os.path.realpath) -> str:
    """A file's identity across spellings: its folder resolved (symlinks, "..", the working
    folder or `base`), its own name kept, so a symlinked photo is not mistaken for its target."""
    path = os.path.join(base or os.getcwd(), os.fspath(path))
    folder, name = os.path.split(path)
    return os.path.join(resolve(folder), name)


def inside(path: str, roots: Iterable[str]) -> bool:
    """`path` is one of `roots` or lies under one (real paths, compared as strings)."""
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def signature(path: str | os.PathLike) -> tuple[int, int, int]:
    """(size, mtime in ns, inode), what `watch` compares; all -1 when the file cannot be
    read."""
    try:
        st = os.stat(path)
    except OSError:
        return (-1, -1, -1)
    return (st.st_size, st.st_mtime_ns, st.st_ino)


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
