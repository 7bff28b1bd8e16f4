"""One `edge-classify` run as a Python function: discovery -> classify -> sort -> write.

The CLI only parses options into a `ClassifyConfig` and calls `run`; everything a run does
lives here, so it is testable without a terminal.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from edge.classifier import Classifier
from edge.config import ClassifyConfig
from edge.files import FileWalker, watch
from edge.outputs import open_writer, read_rows, row_key
from edge.progress import Progress, Summary
from edge.sorting import Sorter

log = logging.getLogger(__name__)


def run(
    config: ClassifyConfig,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stop: threading.Event | None = None,
) -> Summary:
    """Classify everything `config` names; returns the counts. Setting `stop` ends the run
    after the rows in progress (Ctrl-C in the CLI, the normal end of --watch).

    Raises ValueError for inconsistent options, ModelLoadError when nothing can run.
    """
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    stop = stop or threading.Event()
    config.validate()
    threads = config.threads or os.cpu_count() or 1
    classifier = Classifier(config.model, config.labels, max(1, threads // 2),
                            exif_rotate=config.exif_rotate, mean=config.mean, std=config.std,
                            crop=config.crop)
    fmt = config.output_format()
    if fmt is None and config.output is None and not _isatty(stdout):
        fmt = "csv"
    existing = read_rows(config.output, fmt) if config.resume else []
    summary = Summary()
    exclude = [config.sort_into] if config.sort_into else []
    walker = FileWalker(config.paths, config.recursive, exclude)
    done = {row_key(row["path"]) for row in existing}
    paths = _paths(config, walker, done, summary, stop, exclude)
    sorter = Sorter(config.sort_into, config.mode, config.dry_run) if config.sort_into else None
    progress = Progress(stderr, enabled=not config.quiet and _isatty(stderr))
    if progress.enabled and not config.watch:
        _count_in_background(config, exclude, len(done), progress)
    writer = open_writer(config.output, fmt, existing, stdout)
    try:
        results = classifier.classify_paths(paths, config.top_k, config.threshold,
                                            config.batch, threads)
        for result in results:
            if sorter is not None and result.ok:
                placement = sorter.place(result.path, result.label)
                summary.sorted += 1
                if placement.dry_run:
                    progress.clear()
                    stderr.write(f"would {placement.mode} {placement.source} -> "
                                 f"{placement.target}\n")
            summary.add(result)
            progress.clear()
            writer.write(result)
            progress.update(summary)
    finally:
        writer.close()
        progress.clear()
        summary.finish()
        summary.skipped = walker.skipped
    summary.interrupted = stop.is_set() and not config.watch
    return summary


def _paths(config: ClassifyConfig, walker: FileWalker, done: set[str], summary: Summary,
           stop: threading.Event, exclude: list[Path]) -> Iterator[Path]:
    seen: set[str] = set()
    for path in walker:
        if stop.is_set():
            return
        seen.add(str(path))
        if done and row_key(path) in done:
            summary.already_done += 1
            continue
        yield path
    if config.watch:
        folders = [p for p in config.paths if p.is_dir()]
        yield from watch(folders, seen, stop, config.recursive, config.watch_interval, exclude)


def _count_in_background(config: ClassifyConfig, exclude: list[Path], already: int,
                         progress: Progress) -> None:
    def count() -> None:
        try:
            total = sum(1 for _ in FileWalker(config.paths, config.recursive, exclude))
        except Exception:  # the real walk reports the problem; the count only feeds the ETA
            return
        progress.total = max(0, total - already)

    threading.Thread(target=count, daemon=True, name="edge-count").start()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False
