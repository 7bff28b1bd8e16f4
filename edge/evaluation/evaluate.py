"""`edge-classify --eval DIR`: how well a model does on a folder laid out as DIR/<class>/*.

The images go through the same classifier, decoding threads and pixel path as a plain run, so
the figures are what the device will do. Class folders are matched to the model's labels by
`edge.evaluation.classmatch`; images that cannot be read are counted and listed, never scored. With
--sort-into OUT, each misclassified image is placed (by `edge.run.sorting`'s rules) under
`OUT/wrong/<true>-as-<predicted>/`, and OUT is never read as input. A --threshold answer of
"uncertain" counts as a prediction outside the folders' classes.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from edge.classifier import Classifier, Result, open_classifier
from edge.config import STDOUT, ClassifyConfig
from edge.errors import UsageError
from edge.evaluation.classmatch import match_folders
from edge.evaluation.evalreport import write_rows
from edge.evaluation.evalresult import EvalResult, Outcome
from edge.pixels.decode import silence_pillow_warnings
from edge.run.files import FileWalker, inside
from edge.run.outputguard import claimed, lock_path
from edge.run.progress import Progress, Summary, is_terminal
from edge.run.runner import check_layout
from edge.run.sorting import Sorter

WRONG = "wrong"


@dataclass(frozen=True)
class EvalConfig(ClassifyConfig):
    """One evaluation: a plain run's config whose one path is the folder DIR/<class>/* (the
    options' meaning and checks are ClassifyConfig's; --resume, --watch and --top-k do not
    apply)."""

    @property
    def folder(self) -> Path:
        return self.paths[0]

    @classmethod
    def of(cls, folder: Path, **options) -> EvalConfig:
        return cls(paths=(Path(folder),), **options)

    def validate(self) -> None:
        if len(self.paths) != 1 or not self.folder.is_dir():
            raise UsageError(f"--eval {self.paths[0] if self.paths else ''} is not a folder: "
                             "give a folder holding one subfolder of images per class "
                             "(DIR/cats/*, DIR/dogs/*).")
        super().validate()


def evaluate(
    config: EvalConfig,
    classifier: Classifier | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stop: threading.Event | None = None,
) -> EvalResult:
    """Classify every image under config.folder's class folders and score the answers.

    `classifier` (default: built from the config) is anything with `class_names` and
    `classify_paths`; the rows go to config.output when set (stdout for "-"). Raises
    UsageError for a folder or option that cannot be evaluated, ModelLoadError when the
    model cannot run.
    """
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    stop = stop or threading.Event()
    config.validate()
    check_layout(config)
    output = None if config.output in (None, STDOUT) else config.output
    with claimed(output, False, config.overwrite, resume_possible=False):
        return _evaluate(config, classifier, stdout, stderr, stop)


def _evaluate(config: EvalConfig, classifier, stdout: TextIO,
              stderr: TextIO, stop: threading.Event) -> EvalResult:
    silence_pillow_warnings()
    threads = config.decoder_threads()
    if classifier is None:
        classifier = open_classifier(config, config.exif_rotate)
    labels = list(classifier.class_names)
    check_sort_into(config, labels)
    folders, stray, links = class_folders(config)
    mapping = match_folders([f.name for f in folders], labels)
    folders.sort(key=lambda f: labels.index(mapping[f.name]))
    outputs = [] if config.output in (None, STDOUT) else [config.output,
                                                          lock_path(config.output)]
    exclude = [config.sort_into] if config.sort_into else []
    walkers = [FileWalker([f], config.recursive, exclude, outputs) for f in folders]
    truths: deque[str] = deque()
    sorter = (Sorter(config.sort_into / WRONG, config.mode, config.dry_run)
              if config.sort_into else None)
    progress = Progress(stderr, enabled=not config.quiet and is_terminal(stderr))
    summary, outcomes, placed = Summary(), [], 0
    try:
        paths = _paths(walkers, [mapping[f.name] for f in folders], truths, stop)
        for result in classifier.classify_paths(paths, 1, config.threshold, config.batch,
                                                threads):
            outcome = _outcome(result, truths.popleft())
            if sorter is not None and outcome.ok and not outcome.correct:
                placement = sorter.place(outcome.path, f"{outcome.true}-as-{outcome.predicted}")
                if placement.dry_run:
                    progress.clear()
                    stderr.write(f"would {placement.mode} {placement.source} -> "
                                 f"{placement.target}\n")
                else:
                    outcome = replace(outcome, placed=str(placement.target))
                    placed += 1
            outcomes.append(outcome)
            summary.add(result)
            progress.update(summary)
    finally:
        progress.clear()
        summary.finish()
    result = EvalResult(
        model_name=Path(getattr(classifier, "model_path", "model")).name,
        folders=tuple((f.name, mapping[f.name]) for f in folders), outcomes=tuple(outcomes),
        elapsed=summary.elapsed, skipped=sum(w.skipped for w in walkers), stray=stray,
        skipped_links=links + sum(w.skipped_links for w in walkers), interrupted=stop.is_set(),
        sorted=placed, unreadable=tuple(u for w in walkers for u in w.unreadable))
    if config.output is not None:
        try:
            write_rows(result, config.output, config.output_format() or "csv", stdout)
        except OSError as e:
            result = replace(result, write_error=(
                f"cannot write the rows to {config.output}: {e.strerror or e} "
                f"({e.filename or config.output}). The report above is complete; run again "
                "with -o naming a file in a folder you can write to."))
    return result


def class_folders(config: EvalConfig) -> tuple[list[Path], int, int]:
    """(class folders, files lying beside them, symlinked folders left out): the folders of
    config.folder, sorted, without hidden ones, the --sort-into tree and symlinks leading
    outside config.folder (the walker's rule: --mode move never empties an unnamed folder)."""
    root = os.path.realpath(config.folder)
    exclude = os.path.realpath(config.sort_into) if config.sort_into else None
    if exclude == root:
        raise UsageError(f"--sort-into {config.sort_into} is the evaluated folder: sort into "
                         "a folder outside it, e.g. --sort-into review.")
    folders, stray, links = [], 0, 0
    for entry in sorted(os.scandir(config.folder), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        if not entry.is_dir():
            stray += 1
            continue
        real = os.path.realpath(entry.path)
        if exclude and inside(real, [exclude]):
            continue
        if entry.is_symlink() and not real.startswith(root.rstrip(os.sep) + os.sep):
            links += 1
            continue
        folders.append(Path(entry.path))
    if not folders:
        raise UsageError(f"--eval {config.folder} holds no class folders: put each class's "
                         f"images in a subfolder named for it ({config.folder}/cats/*.jpg, "
                         f"{config.folder}/dogs/*.jpg).")
    return folders, stray, links


def check_sort_into(config: EvalConfig, labels: list[str]) -> None:
    """Refuse a --sort-into at or under a class folder (one named for a label): that class
    would silently drop out of the figures and its images mix with sorted ones."""
    if config.sort_into is None:
        return
    target = os.path.realpath(config.sort_into)
    for entry in sorted(os.scandir(config.folder), key=lambda e: e.name):
        if entry.name.startswith(".") or not inside(target, [os.path.realpath(entry.path)]):
            continue
        try:
            match_folders([entry.name], labels)
        except UsageError:
            continue
        raise UsageError(
            f"--sort-into {config.sort_into} is the class folder {entry.path} or inside it: "
            "its images would drop out of the figures and mix with sorted files. Sort into a "
            "folder outside the class folders, e.g. --sort-into review.")


def _paths(walkers: list[FileWalker], labels: list[str], truths: deque[str],
           stop: threading.Event) -> Iterator[Path]:
    for walker, label in zip(walkers, labels, strict=True):
        for path in walker:
            if stop.is_set():
                return
            truths.append(label)
            yield path


def _outcome(result: Result, true: str) -> Outcome:
    if not result.ok:
        return Outcome(result.path, true, error_kind=result.error_kind,
                       error_message=result.error_message)
    return Outcome(result.path, true, result.label, result.confidence)
