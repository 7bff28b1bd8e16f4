"""What keeps an --output file safe: it is never a file the run reads, never silently
replaced, and never written by two runs at once.

The lock is `fcntl.flock` on a hidden `.<name>.lock` beside the output, holding the pid of the
run that has it; the kernel drops it when that process ends, however it ends, so a killed run
never leaves a stale lock behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from edge.errors import EdgeError, UsageError


def check_not_read(output: Path, option: str, reads: Iterable[tuple[str, Path]]) -> None:
    """Refuse an `option` path that is (by inode: hard links and symlinks too) one of the
    files the run reads, named as (what, path)."""
    for what, path in reads:
        try:
            same = os.path.samefile(output, path)
        except OSError:
            continue
        if same:
            raise UsageError(f"{option} {output} is the {what} {path}: writing there would "
                             "destroy it. Choose another file name, e.g. results.csv.")


def check_not_replacing(output: Path, resume: bool, overwrite: bool,
                        resume_possible: bool = True) -> None:
    """Refuse to start a new file over an existing one unless the user said how."""
    if output.is_dir():
        raise UsageError(f"--output {output} is a folder: name a file in it, e.g. "
                         f"{output / 'results.csv'}.")
    if resume or overwrite or not output.exists():
        return
    if output.stat().st_size == 0:
        return
    ways = ("continue it with --resume, " if resume_possible else "") + (
        "write to a new file name, or replace it with --overwrite")
    raise UsageError(f"--output {output} exists already (rows of an earlier run): {ways}.")


def lock_path(output: Path) -> Path:
    return output.with_name(f".{output.name}.lock")


@contextmanager
def locked(output: Path | None) -> Iterator[None]:
    """Hold the output's lock for the duration (None: nothing to lock); creates the output's
    folder. Raises EdgeError, naming the other run's pid, when another run holds it."""
    if output is None or (output.exists() and not output.is_file()):
        yield  # stdout, or a device such as /dev/null: nothing to protect
        return
    import fcntl

    folder = output.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path(output), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise EdgeError(f"cannot write --output {output}: {e.strerror or e} "
                        f"({e.filename or folder}). Choose a folder you can write to.") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            who = f" (pid {other})" if other.isdigit() else ""
            raise EdgeError(f"another edge-classify run{who} is writing {output}: wait for "
                            "it to finish, or write to another --output file.") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


@contextmanager
def claimed(output: Path | None, resume: bool, overwrite: bool,
            resume_possible: bool = True) -> Iterator[None]:
    """The output locked for this run and checked not to replace an earlier run's rows
    (`check_not_replacing`); None (stdout) needs neither."""
    with locked(output):
        if output is not None:
            check_not_replacing(output, resume, overwrite, resume_possible)
        yield
