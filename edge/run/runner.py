"""One `edge-classify` run as a Python function: discovery -> classify -> sort -> write.

The CLI only parses options into a `ClassifyConfig` and calls `run`; everything a run does
lives here, so it is testable without a terminal.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from edge.classifier import BUNDLED_MODEL, UNCERTAIN, Classifier, open_classifier
from edge.config import STDOUT, ClassifyConfig
from edge.errors import EdgeError, ResumeError, UsageError
from edge.pixels.decode import silence_pillow_warnings
from edge.run.files import FileWalker, inside, looks_like_image, signature, watch
from edge.run.outputguard import check_not_read, claimed, lock_path
from edge.run.outputs import open_writer, read_output, row_key
from edge.run.progress import Progress, Summary, is_terminal
from edge.run.runrecord import RunRecord, sha256_of
from edge.run.sorting import Sorter
from edge.run.stageprofile import StageProfile

log = logging.getLogger(__name__)


def run(
    config: ClassifyConfig,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stop: threading.Event | None = None,
) -> Summary:
    """Classify everything `config` names; returns the counts. Setting `stop` ends the run
    after the rows in progress (Ctrl-C in the CLI; the only way --watch ends).

    Raises UsageError for inconsistent options, ResumeError when --output cannot be continued,
    ModelLoadError when nothing can run.
    """
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    stop = stop or threading.Event()
    config.validate()
    check_layout(config)
    output = None if config.output in (None, STDOUT) else config.output
    with claimed(output, config.resume, config.overwrite):
        return _run(config, stdout, stderr, stop)


def _run(config: ClassifyConfig, stdout: TextIO, stderr: TextIO,
         stop: threading.Event) -> Summary:
    silence_pillow_warnings()
    profile = StageProfile() if config.profile else None
    threads = config.decoder_threads()
    classifier = open_classifier(config, config.exif_rotate)
    fmt = config.output_format()
    if fmt is None and (config.output == STDOUT or (config.output is None
                                                    and not is_terminal(stdout))):
        fmt = "csv"
    existing, kept, base = _start_record(config, fmt, classifier, stderr)
    summary = Summary(kernels=classifier.kernels, watching=config.watch,
                      output=None if config.output in (None, STDOUT) else str(config.output))
    exclude = [config.sort_into] if config.sort_into else []
    outputs = _output_files(config)
    walker = FileWalker(config.paths, config.recursive, exclude, outputs)
    done = {row_key(row["path"], base) for row in existing}
    failed: set[str] = set()
    paths = _paths(config, walker, done, summary, stop, failed)
    sorter = Sorter(config.sort_into, config.mode, config.dry_run) if config.sort_into else None
    progress = Progress(stderr, enabled=not config.quiet and is_terminal(stderr))
    if progress.enabled and not config.watch:
        _count_in_background(config, exclude, outputs, len(done), progress)
    writer = _guard_writes(open_writer(config.output, fmt, kept if existing else None, stdout),
                           config.output)
    absolute = base is not None and base != os.getcwd()
    try:
        results = classifier.classify_paths(paths, config.top_k, config.threshold,
                                            config.batch, threads, profile)
        for result in profile.timed(results, "output") if profile else results:
            (failed.discard if result.ok else failed.add)(result.path)
            if sorter is not None and result.ok:
                placement = sorter.place(result.path, result.label)
                summary.sorted += 1
                if placement.dry_run:
                    progress.clear()
                    stderr.write(f"would {placement.mode} {placement.source} -> "
                                 f"{placement.target}\n")
            summary.add(result)
            progress.clear()
            writer.write(replace(result, path=os.path.abspath(result.path)) if absolute
                         else result)
            progress.update(summary)
    finally:
        writer.close()
        progress.clear()
        summary.finish()
        summary.skipped = walker.skipped
        summary.skipped_links = walker.skipped_links
        summary.unreadable_folders = walker.unreadable
        summary.unsupported = walker.unsupported
    summary.interrupted = stop.is_set()
    if profile:
        profile.add_runtime_threads()
        stderr.write("\n".join(profile.lines(summary.done)) + "\n")
    return summary


def check_layout(config: ClassifyConfig) -> None:
    """Refuse an --output that is a file the run reads (an input, the model, the labels) and
    a --sort-into tree holding an input: the first would destroy that file, the second would
    read its own copies forever."""
    output = config.output
    if output not in (None, STDOUT):
        if output.exists() and _is_input(config, output):
            raise UsageError(f"--output {output} is one of the input images: writing there "
                             "would destroy it. Choose another file name, e.g. results.csv.")
        reads = [("model", config.model or BUNDLED_MODEL)]
        if config.labels is not None:
            reads.append(("labels file", config.labels))
        reads += [("input", p) for p in config.paths if not p.is_dir()]
        check_not_read(output, "--output", reads)
        check_not_read(RunRecord.path_for(output), "--output's run record", reads)
    if config.sort_into is not None and config.sort_into.exists() and \
            not config.sort_into.is_dir():
        raise UsageError(f"--sort-into {config.sort_into} is a file, not a folder: name a "
                         "folder to sort into (it is created when missing).")
    if config.sort_into is not None:
        destination = os.path.realpath(config.sort_into)
        for path in config.paths:
            real = os.path.realpath(path)
            if inside(real, [destination]):
                raise UsageError(
                    f"--sort-into {config.sort_into} holds the input {path}: sorted files "
                    "would be read again as input. Sort into a folder outside the inputs "
                    "(one inside an input folder is fine: it is never read).")


def _is_input(config: ClassifyConfig, output: Path) -> bool:
    """Named on the command line, an image by content, or a candidate in an input folder that
    no earlier run wrote (it has no run record)."""
    if looks_like_image(output):
        return True
    real = os.path.realpath(output)
    ours = RunRecord.path_for(output).exists()
    for path in config.paths:
        if path.is_dir() and not ours:
            folder = os.path.realpath(path)
            listed = (inside(real, [folder]) if config.recursive
                      else os.path.dirname(real) == folder)
            if listed and FileWalker([]).is_candidate(Path(real)):
                return True
        elif path.exists() and os.path.samefile(path, output):
            return True
    return False


def _output_files(config: ClassifyConfig) -> list[Path]:
    if config.output in (None, STDOUT):
        return []
    return [config.output, RunRecord.path_for(config.output), lock_path(config.output)]


def _start_record(config: ClassifyConfig, fmt: str | None, classifier: Classifier,
                  stderr: TextIO) -> tuple[list[dict], str, str | None]:
    """Check and write the output's run record; returns (rows to keep, their text, the folder
    relative paths in them are relative to)."""
    if config.output in (None, STDOUT) or (config.output.exists()
                                           and not config.output.is_file()):
        return [], "", None  # stdout or a device such as /dev/null: no record beside it
    model = Path(classifier.model_path)
    record = RunRecord(fmt, sha256_of(model), model.name, os.getcwd(),
                       classifier.spec.setup(), answers(config))
    existing, kept, earlier = [], "", None
    if config.resume:
        earlier = RunRecord.load(config.output) if config.output.exists() else None
        if earlier is not None:
            record.check_resume(earlier, config.output)
            record = replace(record, cwd=earlier.cwd)
        existing, kept = read_output(config.output, fmt)
        if earlier is None and existing:
            check_labels(existing, classifier.class_names, config.output, model.name)
            stderr.write(f"note: {config.output} has no record of the model that wrote it "
                         f"({RunRecord.path_for(config.output).name}); its labels match "
                         f"{model.name}, continuing with it\n")
    record.save(config.output)
    return existing, kept, record.cwd if earlier is not None else None


def answers(config: ClassifyConfig) -> str:
    """The options that shape each row besides the model: a resumed file must not mix rows
    made with another --threshold or --top-k."""
    threshold = "none" if config.threshold is None else f"{config.threshold:g}"
    return f"threshold {threshold}, top-k {config.top_k}"


def check_labels(rows: list[dict], names: tuple[str, ...], output: Path, model: str) -> None:
    """A file without a run record can still be checked by its labels: a row labelled with a
    class this model does not have was written by another model."""
    known = {*names, UNCERTAIN, "", None}
    foreign = sorted({str(r.get("label")) for r in rows if r.get("label") not in known})
    if foreign:
        raise ResumeError(
            f"{output} has no record of the model that wrote it, and its rows hold labels "
            f"{model} does not have ({', '.join(foreign[:5])}): resume with the model that "
            "wrote it, or write to a new --output.")


def _guard_writes(writer, output: Path | None):
    """A writer whose failures (disk full, a removed folder) name the file and what to do."""
    if output in (None, STDOUT):
        return writer
    write, close = writer.write, writer.close
    broken = []

    def failed(e: OSError) -> EdgeError:
        broken.append(e)
        return EdgeError(f"cannot write {output}: {e.strerror or e}. The rows before this one "
                         "are complete: make room (or fix the folder) and continue with "
                         "--resume.")

    def guarded_write(result) -> None:
        try:
            write(result)
        except OSError as e:
            raise failed(e) from None

    def guarded_close() -> None:
        try:
            close()
        except OSError as e:
            if not broken:
                raise failed(e) from None

    writer.write, writer.close = guarded_write, guarded_close
    return writer


def _paths(config: ClassifyConfig, walker: FileWalker, done: set[str], summary: Summary,
           stop: threading.Event, failed: set[str]) -> Iterator[Path]:
    seen: dict[str, tuple[int, int, int]] = {}
    for path in walker:
        if stop.is_set():
            return
        current = signature(path) if config.watch else None
        if done and row_key(path) in done:
            summary.already_done += 1
            if current is not None:
                seen[str(path)] = current
            continue
        if current is not None:
            if time.time_ns() - current[1] < config.watch_settle * 1e9:
                continue  # perhaps still being written: the watch reads it once it settles
            seen[str(path)] = current
        yield path
    if config.watch:
        folders = [p for p in config.paths if p.is_dir()]
        yield from watch(folders, seen, stop, config.recursive, config.watch_interval,
                         walker.exclude, config.watch_settle, failed, _output_files(config))


def _count_in_background(config: ClassifyConfig, exclude: list[Path], outputs: list[Path],
                         already: int, progress: Progress) -> None:
    def count() -> None:
        try:
            total = sum(1 for _ in FileWalker(config.paths, config.recursive, exclude, outputs))
        except Exception:  # the real walk reports the problem; the count only feeds the ETA
            return
        progress.total = max(0, total - already)

    threading.Thread(target=count, daemon=True, name="edge-count").start()
